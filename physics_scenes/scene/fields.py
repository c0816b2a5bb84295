"""Field types shared by every part of the scene model (units, colours, the base model)."""

from __future__ import annotations

from typing import Annotated

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    WithJsonSchema,
)

from .colors import RGB, parse_color

MODEL_CONFIG = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, validate_default=True)

Vec2 = Annotated[
    tuple[float, float],
    Field(description="A 2D vector [x, y] in SI units (y points up)."),
]
Coordinate = Annotated[float, Field(ge=-1e6, le=1e6)]
Point = Annotated[
    tuple[Coordinate, Coordinate],
    Field(description="A point [x, y] in metres (y up), each within ±1,000 km."),
]
Positive = Annotated[float, Field(gt=0)]
MAX_LENGTH = 10_000.0
Length = Annotated[float, Field(gt=0, le=MAX_LENGTH)]
"""A size in metres: positive, and at most 10 km (beyond that, float precision and drawing fail)."""
Color = Annotated[
    RGB,
    BeforeValidator(parse_color),
    WithJsonSchema(
        {
            "description": "A colour: '#rrggbb', '#rgb', a name such as 'red', or [r, g, b] 0-255.",
            "anyOf": [
                {"type": "string", "examples": ["#e4572e", "red"]},
                {
                    "type": "array",
                    "items": {"type": "integer", "minimum": 0, "maximum": 255},
                    "minItems": 3,
                    "maxItems": 3,
                },
            ],
        }
    ),
]


class Model(BaseModel):
    model_config = MODEL_CONFIG


class MaterialSpec(Model):
    """Physical properties of a custom material."""

    density: Positive = Field(
        1000.0, description="Areal density in kg/m² (the world is 2D): mass = density x area."
    )
    friction: float = Field(
        0.5, ge=0, le=10, description="Coulomb friction; pymunk multiplies both shapes' values."
    )
    elasticity: float = Field(
        0.5,
        ge=0,
        le=1,
        description="Coefficient of restitution 0-1; pymunk multiplies both shapes' values "
        "(static 'ground' is 1, so a ball keeps its own).",
    )
    color: Color | None = Field(None, description="Default colour of bodies made of it.")


def _str_or_mapping(value: object) -> str:
    """Pick one union member up front, so a wrong value gets one error, not two.

    Also called when serialising, so a model instance must pick its own member.
    """
    return "spec" if isinstance(value, dict | MaterialSpec) else "name"


MaterialRef = Annotated[
    Annotated[str, Tag("name")] | Annotated[MaterialSpec, Tag("spec")],
    Discriminator(_str_or_mapping),
    Field(
        description="A preset name (rubber, wood, metal, stone, ice, glass, plastic, ground), "
        "a name from the scene's 'materials', or an inline {density, friction, elasticity}."
    ),
]


NAME_PATTERN = r"^[^\s/][^/]*$"
Name = Annotated[
    str,
    Field(
        min_length=1,
        max_length=200,
        pattern=NAME_PATTERN,
        description="Unique name used in every output (events, states). "
        "'/' is reserved for parts of composite and grid bodies.",
    ),
]
