"""A ``story:`` file: several scenes (acts) in one video, joined by transitions, with one
continuous sound track. Pure data; ``job/story.py`` renders it.

>>> story = Story.model_validate({"acts": [{"scene": "a.yaml"},
...     {"scene": "b.yaml", "transition": {"kind": "crossfade", "duration": 0.5}}]})
>>> [(a.scene, a.transition.kind, a.transition.frames(30)) for a in story.acts]
[('a.yaml', 'cut', 0), ('b.yaml', 'crossfade', 15)]
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from .fields import Model, ReadOnlyList

Kind = Literal["cut", "crossfade", "fade", "wipe"]


class Transition(Model):
    """How an act comes in after the one before.

    ``crossfade`` (a dissolve) and ``wipe`` (the new act revealed from the left) overlap
    the two acts for ``duration``; ``fade`` goes through black (the first act fades out
    over half of it, the next fades in over the other half); ``cut`` joins them."""

    kind: Kind = "cut"
    duration: float = Field(0.5, ge=0, le=10, description="Video seconds.")

    def frames(self, fps: int) -> int:
        """Frames the transition lasts (0 for a cut)."""
        return 0 if self.kind == "cut" else round(self.duration * fps)


class Act(Model):
    """One scene of the story, and the transition into it."""

    scene: str = Field(min_length=1, description="Scene file, relative to the story file.")
    transition: Transition = Field(default_factory=Transition)

    @model_validator(mode="before")
    @classmethod
    def _short(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("transition"), str):
            data = {**data, "transition": {"kind": data["transition"]}}
        return data


class Story(Model):
    """The acts, in order."""

    acts: ReadOnlyList[Act] = Field(min_length=1, max_length=100)


class StoryFile(Model):
    """A story file: ``story: {acts: [...]}``."""

    story: Story
