"""The triggers of a script's ``when:``: contact, enter, leave, rest, speed, angle, event,
and ``any``/``all`` of them, as pure data (``physics/script.py`` evaluates them).

>>> from pydantic import TypeAdapter
>>> when = TypeAdapter(Trigger).validate_python({"any": [{"contact": ["a", "b"]}, {"event": "x"}]})
>>> [type(leaf).__name__ for leaf in leaves(when)]
['OnContact', 'OnEvent']
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import ConfigDict, Discriminator, Field, Tag

from .fields import MODEL_CONFIG, Model, Point, ReadOnlyList

Seconds = Annotated[float, Field(ge=0, le=1e6)]
Name = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\s/][^/]*$")]
BodyRef = Annotated[
    str,
    Field(
        min_length=1,
        max_length=1000,
        description="A body's name; a grid's or composite's name means all its bodies.",
    ),
]
TRIGGERS = (
    "contact",
    "enter",
    "leave",
    "rest",
    "speed_above",
    "angle_above",
    "event",
    "any",
    "all",
)


class Region(Model):
    """A body (any of a grid's or composite's bodies) and an axis-aligned box."""

    body: BodyRef
    region: tuple[Point, Point] = Field(description="[[x0, y0], [x1, y1]]: two opposite corners.")


class Rest(Model):
    """The body (every one of a group) slower than ``speed_below`` for ``for`` seconds."""

    model_config = ConfigDict(**MODEL_CONFIG, populate_by_name=True)
    body: BodyRef
    speed_below: float = Field(0.05, gt=0, le=1e4, description="m/s.")
    for_: Seconds = Field(0.5, alias="for", description="Seconds it must stay that slow.")


class SpeedAbove(Model):
    body: BodyRef
    speed: float = Field(gt=0, le=1e4, description="m/s.")


class AngleAbove(Model):
    body: BodyRef
    degrees: float = Field(gt=0, le=1e6, description="|angle| in degrees.")


def only_key(value: object) -> str | None:
    if isinstance(value, dict) and len(value) == 1:
        key = next(iter(value))
        return key if key in TRIGGERS else None
    if isinstance(value, Model):
        return next((k for k in TRIGGERS if getattr(value, k, None) is not None), None)
    return None


class OnContact(Model):
    contact: tuple[BodyRef, BodyRef] = Field(description="First touch between A and B.")


class OnEnter(Model):
    enter: Region


class OnLeave(Model):
    leave: Region


class OnRest(Model):
    rest: Rest


class OnSpeed(Model):
    speed_above: SpeedAbove


class OnAngle(Model):
    angle_above: AngleAbove


class OnEvent(Model):
    event: Name = Field(description="Another action's name: fires when that action fires.")


class OnAny(Model):
    any: ReadOnlyList[Trigger] = Field(min_length=1, max_length=64)


class OnAll(Model):
    all: ReadOnlyList[Trigger] = Field(min_length=1, max_length=64)


Trigger = Annotated[
    Annotated[OnContact, Tag("contact")]
    | Annotated[OnEnter, Tag("enter")]
    | Annotated[OnLeave, Tag("leave")]
    | Annotated[OnRest, Tag("rest")]
    | Annotated[OnSpeed, Tag("speed_above")]
    | Annotated[OnAngle, Tag("angle_above")]
    | Annotated[OnEvent, Tag("event")]
    | Annotated[OnAny, Tag("any")]
    | Annotated[OnAll, Tag("all")],
    Discriminator(
        only_key,
        custom_error_type="trigger",
        custom_error_message="a trigger is one of: " + ", ".join(TRIGGERS),
    ),
]
OnAny.model_rebuild()
OnAll.model_rebuild()


def leaves(trigger: Any) -> list[Any]:
    """Every non-combining trigger inside ``trigger``, depth first."""
    if isinstance(trigger, OnAny | OnAll):
        inner = trigger.any if isinstance(trigger, OnAny) else trigger.all
        return [leaf for t in inner for leaf in leaves(t)]
    return [trigger]
