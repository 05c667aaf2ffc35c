"""The notebook API (``from vistance import ...``): the label schema is a value, not a constant."""
import pytest


def test_the_api_exports_the_schema_loaders_not_the_old_constants():
    import vistance

    assert {"LabelSchema", "load_schema", "default_schema"} <= set(vistance.__all__)
    assert not {"THEMES", "TONES"} & set(vistance.__all__)
    assert vistance.load_schema(None) == vistance.default_schema()
    assert isinstance(vistance.default_schema(), vistance.LabelSchema)
    with pytest.raises(AttributeError):
        vistance.THEMES  # noqa: B018


def test_every_exported_name_resolves():
    import vistance

    for name in vistance.__all__:
        assert getattr(vistance, name) is not None, name
