"""The base of every pydantic model of the project. Its validator is built on first use
(``defer_build``), not when the class is defined: a CLI call defines about fifty models and
uses a handful, and building them all cost about 30 ms of a read-only call's 270."""

from pydantic import BaseModel, ConfigDict


class Model(BaseModel):
    model_config = ConfigDict(defer_build=True)
