"""A prompt → a ``Plan``: object groups, styles, duration and ordered script steps.

A small deterministic grammar, no model: the prompt is cut into clauses at 'then',
'after', 'when', 'while' and punctuation; in each clause, count, colour, material and
size words collect until a noun makes a group of objects; arrangement and motion words
attach to the nearest noun; camera and time words set styles. A clause that follows
'then' or 'when A hits B' becomes script steps. Every word is either used, known glue,
or reported in ``Plan.skipped``; ``Plan.explain`` says what each phrase became.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from . import vocabulary as v


@dataclass
class Group:
    """Objects of one kind made from one noun phrase."""

    kind: str
    count: int = 1
    color: str | None = None
    material: str | None = None
    scale: float = 1.0
    arrangement: str | None = None
    motions: list[str] = field(default_factory=list)
    target: str | None = None
    """Kind of the thing it is thrown at or rolls down (ramp, stairs), found by ``build``."""
    noun: str = ""
    name: str = ""
    first: bool = False
    """'the first domino': the first of a row."""
    spawned: bool = False
    held: bool = False


@dataclass
class Step:
    """A script step: when (a time, or a contact between two groups) and what."""

    verb: str  # 'caption', 'spawn', 'release', 'push', 'end', 'remove'
    group: int | None = None
    text: str | None = None
    at: float | None = None
    contact: tuple[int, int] | None = None
    first_b: bool = False


@dataclass
class Plan:
    groups: list[Group] = field(default_factory=list)
    styles: list[str] = field(default_factory=list)
    follow: int | None = None
    duration: float | None = None
    steps: list[Step] = field(default_factory=list)
    explain: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


TOKEN = re.compile(r'"[^"]*"|\d+(?:\.\d+)?|[a-z]+(?:-[a-z]+)*|[,.;!?]')


def tokens(prompt: str) -> list[str]:
    """Lower-case words, numbers, punctuation; quoted text kept whole (a caption)."""
    out = []
    for match in TOKEN.finditer(_lower_outside_quotes(prompt)):
        out.append(match.group())
    return out


def _lower_outside_quotes(text: str) -> str:
    parts = re.split(r'("[^"]*")', text.replace("“", '"').replace("”", '"'))
    return "".join(p if p.startswith('"') else p.lower() for p in parts)


def parse(prompt: str) -> Plan:
    """The plan a prompt describes (never raises on words: unknown ones are ``skipped``)."""
    plan = Plan()
    clause: list[str] = []
    mode = "start"
    sequence = 0
    words = [*tokens(prompt), "."]
    for word in words:
        if word in (",", ".", ";", "!", "?") or word in v.SPLITTERS:
            if clause:
                sequence = _clause(plan, clause, mode, sequence)
                clause = []
                mode = "consequence" if mode == "when-head" else "start"
            if word in ("then", "after", "afterwards", "finally"):
                mode = "then"
            elif word == "when":
                mode = "when-head"
            elif word in ("while", ".", ";", "!", "?"):
                mode = "start"
            continue
        clause.append(word)
    return plan


def _find(plan: Plan, kind: str) -> int | None:
    for index in range(len(plan.groups) - 1, -1, -1):
        if plan.groups[index].kind == kind:
            return index
    return None


def _clause(plan: Plan, words: list[str], mode: str, sequence: int) -> int:
    """Read one clause into the plan; returns the count of timed ('then') steps so far."""
    if mode == "when-head":
        return _when(plan, words, sequence)
    if mode in ("then", "consequence"):
        sequence += 1
        _consequence(plan, words, None, 1.5 * sequence)
        return sequence
    _scene_clause(plan, words)
    return sequence


def _scene_clause(plan: Plan, words: list[str]) -> list[int]:
    """Objects, styles, duration: the initial state. Returns the groups named in it."""
    pending: dict[str, object] = {}
    named: list[int] = []
    i = 0
    while i < len(words):
        word = words[i]
        used = _style(plan, words, i)
        if used:
            i += used
            continue
        if re.fullmatch(r"\d+(\.\d+)?", word):
            if i + 1 < len(words) and words[i + 1] in v.SECONDS:
                plan.duration = min(600.0, max(0.5, float(word)))
                plan.explain.append(f"'{word} {words[i + 1]}' → duration {float(word):g} s")
                i += 2
                continue
            pending["count"] = max(1, min(50, int(float(word))))
        elif word.endswith("-second") and word.split("-")[0] in v.NUMBERS:
            plan.duration = min(600.0, max(0.5, float(v.NUMBERS[word.split("-")[0]])))
            plan.explain.append(f"'{word}' → duration {plan.duration:g} s")
        elif word in ("follow", "follows", "following", "tracking", "track"):
            pending["follow"] = True
        elif word in ("a", "an"):
            pending["article"] = True
        elif word in v.NUMBERS:
            pending["count"] = v.NUMBERS[word]
        elif word in v.COLORS:
            pending["color"] = word
        elif word in v.MATERIALS or word in v.MATERIAL_ALIASES:
            pending["material"] = v.MATERIAL_ALIASES.get(word, word)
        elif word in v.SIZES:
            pending["scale"] = v.SIZES[word]
        elif word in v.ARRANGEMENTS:
            pending["arrangement"] = v.ARRANGEMENTS[word]
        elif word == "first":
            pending["first"] = True
        elif v.singular(word) in v.OBJECTS:
            index = _noun(plan, v.singular(word), word, pending)
            named.append(index)
            pending = {}
        elif word in v.MOTIONS:
            _motion(plan, words, i, named)
        elif word.startswith('"'):
            plan.steps.append(Step("caption", text=word.strip('"'), at=0.5))
            plan.explain.append(f"{word} → caption at 0.5 s")
        elif word not in v.GLUE:
            plan.skipped.append(word)
        i += 1
    return named


def _style(plan: Plan, words: list[str], i: int) -> int:
    for phrase, style in sorted(v.STYLE_WORDS.items(), key=lambda item: -len(item[0])):
        if tuple(words[i : i + len(phrase)]) == phrase:
            if style not in plan.styles:
                plan.styles.append(style)
            plan.explain.append(f"'{' '.join(phrase)}' → style: {style}")
            return len(phrase)
    return 0


def _noun(plan: Plan, noun: str, word: str, pending: dict[str, object]) -> int:
    kind = v.OBJECTS[noun]
    explicit = any(
        k in pending for k in ("count", "color", "material", "scale", "arrangement", "article")
    )
    existing = _find(plan, kind)
    if existing is not None and not explicit:
        group = plan.groups[existing]  # 'the ball' again: the same one
        group.first = group.first or bool(pending.get("first"))
        index = existing
    else:
        plural = word != noun and word not in ("stairs", "steps")
        count = int(pending.get("count", 1 if not plural else 3))  # type: ignore[call-overload]
        if kind == "domino" and "count" not in pending and plural:
            count = 8
        group = Group(
            kind,
            count,
            pending.get("color"),  # type: ignore[arg-type]
            pending.get("material"),  # type: ignore[arg-type]
            float(pending.get("scale", 1.0)),  # type: ignore[arg-type]
            pending.get("arrangement"),  # type: ignore[arg-type]
            noun=noun,
            first=bool(pending.get("first")),
        )
        plan.groups.append(group)
        index = len(plan.groups) - 1
        bits = [f"{count} x {kind}"]
        bits += [f"{k} {pending[k]}" for k in ("color", "material", "arrangement") if k in pending]
        if group.scale != 1.0:
            bits.append(f"size x{group.scale:g}")
        plan.explain.append(f"'{word}' → {', '.join(bits)}")
    if pending.get("follow"):
        plan.follow = index
        plan.explain.append(f"'follow … {word}' → camera follows it")
    return index


def _motion(plan: Plan, words: list[str], i: int, named: list[int]) -> None:
    """A motion word acts on the last named group; 'down X' / 'at X' name its target."""
    motion = v.MOTIONS[words[i]]
    if not named:
        plan.skipped.append(words[i])
        return
    group = plan.groups[named[-1]]
    if motion in ("hit", "end", "remove", "push"):
        return  # in a scene clause these only describe what follows from the physics
    group.motions.append(motion)
    plan.explain.append(f"'{words[i]}' → {group.kind} {motion}")
    for later in words[i + 1 : i + 6]:
        kind = v.OBJECTS.get(v.singular(later))
        if kind in ("ramp", "stairs", "wall", "box", "walker", "domino", "pool"):
            group.target = kind
            return


def _when(plan: Plan, words: list[str], sequence: int) -> int:
    """'when A hits B, <consequence>': the head names A and B; the consequence follows."""
    verb = next((k for k, w in enumerate(words) if v.MOTIONS.get(w) == "hit"), None)
    if verb is None:
        plan.skipped.extend(w for w in words if w not in v.GLUE)
        plan.explain.append(f"'when {' '.join(words)}' → skipped: no 'hits'/'touches'")
        return sequence
    head_a = _scene_clause(plan, words[:verb])
    noun = next((k for k in range(verb + 1, len(words)) if v.singular(words[k]) in v.OBJECTS), None)
    if not head_a or noun is None:
        plan.skipped.extend(w for w in words if w not in v.GLUE)
        plan.explain.append(f"'when {' '.join(words)}' → skipped: no two things that touch")
        return sequence
    first = "first" in words[verb + 1 : noun]
    head_b = _scene_clause(plan, words[verb + 1 : noun + 1])
    plan.steps.append(Step("trigger", contact=(head_a[-1], head_b[-1]), first_b=first))
    a, b = plan.groups[head_a[-1]].kind, plan.groups[head_b[-1]].kind
    plan.explain.append(f"'when … {words[verb]} …' → trigger: first contact of {a} and {b}")
    if noun + 1 < len(words):  # no comma: the consequence follows in the same clause
        _consequence(plan, words[noun + 1 :], None, 0.0)
    return sequence


def _consequence(plan: Plan, words: list[str], contact: object, at: float) -> None:
    """A 'then' clause (at a time) or the clause after 'when … hits …, ' (on the contact)."""
    trigger = plan.steps.pop() if plan.steps and plan.steps[-1].verb == "trigger" else None
    before = len(plan.groups)
    named = _scene_clause(plan, [w for w in words if w not in v.MOTIONS and w[0] != '"'])
    verbs = [v.MOTIONS[w] for w in words if w in v.MOTIONS]
    quotes = [w.strip('"') for w in words if w.startswith('"')]
    steps: list[Step] = [Step("caption", text=q) for q in quotes]
    for index in named:
        if plan.groups[index].kind not in ("ball", "box", "domino"):
            continue  # scenery and composites are not spawned, released or pushed
        if index >= before:
            plan.groups[index].spawned = True
            steps.append(Step("spawn", group=index))
        elif "fall" in verbs:
            plan.groups[index].held = True
            steps.append(Step("release", group=index))
        elif "push" in verbs or "throw" in verbs:
            steps.append(Step("push", group=index))
        elif "remove" in verbs:
            steps.append(Step("remove", group=index))
    if "end" in verbs:
        steps.append(Step("end"))
    when = "on the contact" if trigger is not None else f"at {at:g} s"
    for step in steps:
        step.at = None if trigger is not None else at
        step.contact = trigger.contact if trigger is not None else None
        step.first_b = trigger.first_b if trigger is not None else False
        what = plan.groups[step.group].kind if step.group is not None else (step.text or "")
        plan.explain.append(f"'{' '.join(words)}' → {step.verb} {what} {when}")
    plan.steps += steps
    if not steps:
        plan.explain.append(f"'{' '.join(words)}' → nothing happens (no action understood)")
