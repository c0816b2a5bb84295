"""Field types shared by every part of the scene model (units, colours, the base model)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Annotated, Any, TypeAlias, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    SerializerFunctionWrapHandler,
    Tag,
    WithJsonSchema,
    WrapSerializer,
)

from .colors import RGB, parse_color

T = TypeVar("T")
V = TypeVar("V")


class ReadOnlyDict(Mapping[str, V]):
    """A name → value table that cannot change: the frozen Scene's dicts.

    Not ``MappingProxyType``: a Scene travels to worker processes by pickle, and a
    mapping proxy cannot be pickled.

    >>> table = ReadOnlyDict({"bouncy": 0.9})
    >>> table["bouncy"], len(table), table == {"bouncy": 0.9}
    (0.9, 1, True)
    >>> table["bouncy"] = 0.1
    Traceback (most recent call last):
    TypeError: 'ReadOnlyDict' object does not support item assignment
    """

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[str, V] | None = None) -> None:
        self._items: dict[str, V] = dict(items or {})

    def __getitem__(self, key: str) -> V:
        return self._items[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"ReadOnlyDict({self._items!r})"


def _as_dict(value: Mapping[str, Any], handler: SerializerFunctionWrapHandler) -> Any:
    return handler(dict(value))


def _as_list(value: Sequence[Any], handler: SerializerFunctionWrapHandler) -> Any:
    return handler(list(value))


if TYPE_CHECKING:
    ReadOnlyList: TypeAlias = tuple[T, ...]
    ReadOnlyMap: TypeAlias = Mapping[str, V]
else:

    class ReadOnlyList:
        """``ReadOnlyList[X]``: validated exactly like ``list[X]`` (same messages and
        locations), stored as a tuple, written out as a list."""

        def __class_getitem__(cls, item: object) -> object:
            return Annotated[list[item], AfterValidator(tuple), WrapSerializer(_as_list)]

    class ReadOnlyMap:
        """``ReadOnlyMap[X]``: validated like ``dict[str, X]``, stored as a
        ``ReadOnlyDict``, written out as a plain object."""

        def __class_getitem__(cls, item: object) -> object:
            as_dict = WrapSerializer(_as_dict)
            return Annotated[dict[str, item], AfterValidator(ReadOnlyDict), as_dict]


MODEL_CONFIG = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, validate_default=True)

MAX_MAGNITUDE = 1e12
"""The largest mass, force, stiffness or damping: their products stay far from overflow."""
MAX_COORDINATE = 1e6
Coordinate = Annotated[float, Field(ge=-MAX_COORDINATE, le=MAX_COORDINATE)]
Vec2 = Annotated[
    tuple[Coordinate, Coordinate],
    Field(description="A 2D vector [x, y] in SI units (y points up), each within ±1,000,000."),
]
Point = Annotated[
    tuple[Coordinate, Coordinate],
    Field(description="A point [x, y] in metres (y up), each within ±1,000 km."),
]
Positive = Annotated[float, Field(gt=0, le=MAX_MAGNITUDE)]
"""A positive amount (kg, N, N/m ...), at most 10¹²."""
NonNegative = Annotated[float, Field(ge=0, le=MAX_MAGNITUDE)]
Degrees = Annotated[float, Field(ge=-1e6, le=1e6)]
"""An angle or an angular rate in degrees: ±1,000,000 is thousands of turns."""
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
    Annotated[str, Field(max_length=200), Tag("name")] | Annotated[MaterialSpec, Tag("spec")],
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
