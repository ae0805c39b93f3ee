"""What a model in a shared server gets of its own during load: its folder, its code, its log.

In-process (no server): model_wrappers.model_source and model_wrappers.model_logs are what the
shared MLServer's adapter calls; tests/test_shared_servers.py runs them inside real MLServer.
"""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

import pytest

from model_wrappers import model_logs
from model_wrappers.model_dir import MODEL_DIR_ENV
from model_wrappers.model_source import import_wrapper, model_folder
from seldon_pkg.errors import SpecError
from seldon_pkg.spec.model_spec import parse_spec


def model(folder: Path, factor: int) -> Path:
    folder.mkdir()
    (folder / "same_name.py").write_text(f"class Model:\n    factor = {factor}\n")
    (folder / "weights.txt").write_text(str(factor))
    return folder


def test_two_folders_with_the_same_module_name_each_give_their_own_class(tmp_path):
    first, second = model(tmp_path / "a", 1), model(tmp_path / "b", 2)
    cwd, path = os.getcwd(), list(sys.path)
    with model_folder(str(first), None):
        a = import_wrapper("same_name.Model", str(first))
        assert Path("weights.txt").read_text() == "1"  # relative files resolve in the model's folder
    with model_folder(str(second), str(tmp_path)):
        assert os.environ[MODEL_DIR_ENV] == str(tmp_path)
        b = import_wrapper("same_name.Model", str(second))
    assert (a.factor, b.factor) == (1, 2)
    assert os.getcwd() == cwd and sys.path == path and MODEL_DIR_ENV not in os.environ


def test_a_reload_reads_the_folders_code_as_it_is_now(tmp_path):
    folder = model(tmp_path / "a", 1)
    with model_folder(str(folder), None):
        assert import_wrapper("same_name.Model", str(folder)).factor == 1
    (folder / "same_name.py").write_text("class Model:\n    factor = 5\n")
    with model_folder(str(folder), None):
        assert import_wrapper("same_name.Model", str(folder)).factor == 5


def test_environment_modules_are_never_dropped(tmp_path):
    folder = model(tmp_path / "a", 1)
    import json

    with model_folder(str(folder), None):
        import_wrapper("same_name.Model", str(folder))
    assert sys.modules["json"] is json


def test_the_folder_is_restored_when_load_raises(tmp_path):
    folder = model(tmp_path / "a", 1)
    cwd = os.getcwd()
    with pytest.raises(RuntimeError), model_folder(str(folder), None):
        raise RuntimeError("load failed")
    assert os.getcwd() == cwd and str(folder.resolve()) not in sys.path


def test_output_in_a_models_context_is_copied_to_its_log_only(tmp_path, monkeypatch):
    server_stream = io.StringIO()
    monkeypatch.setattr(sys, "stdout", model_logs._ModelStream(server_stream))
    a = model_logs.register("a", str(tmp_path / "a.log"))
    b = model_logs.register("b", str(tmp_path / "b.log"))
    token = model_logs.current_model.set("a")
    print("hello from a")
    model_logs.current_model.reset(token)
    print("the server speaks")
    try:
        raise ValueError("b's load failed")
    except ValueError as error:
        model_logs.write_exception("b", error)
    model_logs.unregister("a", a)
    model_logs.unregister("b", b)
    assert (tmp_path / "a.log").read_text() == "hello from a\n"
    assert "ValueError: b's load failed" in (tmp_path / "b.log").read_text()
    assert "hello from a" not in (tmp_path / "b.log").read_text()
    assert server_stream.getvalue() == "hello from a\nthe server speaks\n"  # the server's log has everything


def test_a_reload_keeps_the_new_models_log_when_the_old_one_unloads(tmp_path):
    old = model_logs.register("m", str(tmp_path / "m.log"))
    new = model_logs.register("m", str(tmp_path / "m.log"))
    model_logs.unregister("m", old)  # MLServer unloads the old model after the new one loaded
    model_logs.write("m", "still logged\n")
    model_logs.unregister("m", new)
    assert "still logged" in (tmp_path / "m.log").read_text()


@pytest.mark.parametrize(
    ("text", "expected"), [("", "shared"), ("isolation: process\n", "process"), ("isolation: shared\n", "shared")]
)
def test_oip_models_share_by_default_and_can_opt_out(tmp_path, text, expected):
    spec = parse_spec(
        __import__("yaml").safe_load(f"name: m\nversion: v1\nwrapper: a.B\nprotocol: v2\n{text}"), source_dir=tmp_path
    )
    assert spec.isolation == expected and spec.shares_server is (expected == "shared")


def test_a_seldon_protocol_model_cannot_be_shared_and_the_error_names_the_field(tmp_path):
    plain = parse_spec({"name": "m", "version": "v1", "wrapper": "a.B"}, source_dir=tmp_path)
    assert plain.isolation == "process" and not plain.shares_server
    with pytest.raises(SpecError, match=r"isolation.*protocol: v2"):
        parse_spec({"name": "m", "version": "v1", "wrapper": "a.B", "isolation": "shared"}, source_dir=tmp_path)
    with pytest.raises(SpecError, match=r"isolation.*did you mean 'process'"):
        parse_spec(
            {"name": "m", "version": "v1", "wrapper": "a.B", "protocol": "v2", "isolation": "proces"},
            source_dir=tmp_path,
        )
