"""Hostile specs and model folders: nothing in them may inject into, or escape from, what we write.

The three findings of the issue are explicit cases; a property test then throws arbitrary
unicode at every free-text field and checks every sink: the spec is refused naming a field,
or everything generated from it parses back to exactly the values given.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from dockerfile_parse import DockerfileParser
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from packaging.requirements import Requirement

from seldon_pkg.build.image_context import dockerfile, write_context
from seldon_pkg.errors import SpecError
from seldon_pkg.platforms.labels import ANNOTATION_MODEL, ANNOTATION_VERSION
from seldon_pkg.platforms.seldon import seldon_deployment
from seldon_pkg.platforms.seldon_parameters import parameters_env
from seldon_pkg.platforms.yaml_documents import to_yaml
from seldon_pkg.spec.model_spec import load_spec, parse_spec
from seldon_pkg.tables import printable, render_table

CLI = str(Path(sys.executable).parent / "seldon-pkg")
EXPECTED_INSTRUCTIONS = ["ARG", "FROM", "ENV", "RUN", "WORKDIR", "COPY", "RUN", "COPY"]
TAIL_INSTRUCTIONS = ["ENV", "USER", "EXPOSE", "ENTRYPOINT"]


def write_spec(folder: Path, **fields) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    spec = {"name": "m", "version": "v1", "wrapper": "Model.Model", "image": "example.org/m:1", **fields}
    (folder / "seldon-model.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True))
    (folder / "Model.py").write_text("class Model:\n    pass\n")
    return folder


def buildkit_unquote(word: str) -> str:
    """A double-quoted Dockerfile word as BuildKit reads it (frontend/dockerfile/shell/lex.go,
    processDoubleQuote): inside the quotes a backslash escapes only ``"``, ``$`` and itself."""
    assert word.startswith('"') and word.endswith('"'), word
    out, chars, i = [], word[1:-1], 0
    while i < len(chars):
        char = chars[i]
        assert char != '"', f"unescaped quote ends the value early: {word!r}"
        assert char != "$", f"unescaped $ would expand a variable: {word!r}"
        if char == "\\" and i + 1 < len(chars):
            following = chars[i + 1]
            out.append(following if following in '"$\\' else char + following)
            i += 2
            continue
        out.append(char)
        i += 1
    return "".join(out)


def parsed_dockerfile(text: str, tmp_path: Path) -> list[dict]:
    """The instructions of a Dockerfile, after checking its only comment is the first line."""
    parser = DockerfileParser(path=str(tmp_path / "Dockerfile"))
    parser.content = text
    comments = [s for s in parser.structure if s["instruction"] == "COMMENT"]
    assert [(c["startline"], c["endline"]) for c in comments] == [(0, 0)], comments
    return [s for s in parser.structure if s["instruction"] != "COMMENT"]


# ---- the three findings -------------------------------------------------------------------


def test_env_value_cannot_add_a_dockerfile_instruction(tmp_path):
    hostile = 'hi"\nRUN touch /pwned\nENV X="y'
    with pytest.raises(SpecError, match=r"field 'env\.GREETING': must not contain U\+000A"):
        load_spec(write_spec(tmp_path / "a", env={"GREETING": hostile}))
    # what can be carried is carried exactly: quotes, $, backslashes, template and shell syntax
    tricky = 'say "hi" $HOME \\ ${X} $(touch /pwned) `id` {{ .Values.x }} \\'
    spec = load_spec(write_spec(tmp_path / "b", env={"GREETING": tricky}))
    structure = parsed_dockerfile(dockerfile(spec), tmp_path)
    assert [s["instruction"] for s in structure] == [*EXPECTED_INSTRUCTIONS, "ENV", *TAIL_INSTRUCTIONS]
    key, _, word = structure[len(EXPECTED_INSTRUCTIONS)]["value"].partition("=")
    assert key == "GREETING" and buildkit_unquote(word) == tricky


def test_a_requirement_cannot_smuggle_a_pip_option(tmp_path):
    hostile = "numpy\n--extra-index-url http://198.51.100.7/simple"
    with pytest.raises(SpecError, match=r"field 'requirements\[0\]': must be one requirement on one line"):
        load_spec(write_spec(tmp_path / "a", requirements=[hostile]))
    with pytest.raises(SpecError, match="is a pip option, not a requirement"):
        load_spec(write_spec(tmp_path / "b", requirements=["--extra-index-url=http://198.51.100.7/simple"]))
    folder = write_spec(tmp_path / "c")
    (folder / "requirements.txt").write_text("numpy\n--extra-index-url http://198.51.100.7/simple\n")
    with pytest.raises(
        SpecError, match=r"'requirements.txt line 2': pip option --extra-index-url .* allow_pip_options"
    ):
        load_spec(folder)
    (folder / "requirements.txt").write_text("-r ../../elsewhere.txt\n")
    with pytest.raises(SpecError, match="names another file"):
        load_spec(folder)


def test_pip_options_are_explicit_and_printed(tmp_path):
    folder = write_spec(tmp_path / "m", allow_pip_options=True)
    (folder / "requirements.txt").write_text("numpy<2  # pinned\n--extra-index-url https://pypi.example.org/simple\n")
    result = subprocess.run(
        [CLI, "build", str(folder), "--out", str(tmp_path / "ctx"), "--skip-audit", "--no-build"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "pip option (allow_pip_options: true): --extra-index-url https://pypi.example.org/simple" in result.stderr
    lines = (tmp_path / "ctx" / "requirements.txt").read_text().splitlines()
    assert lines[0] == "--extra-index-url https://pypi.example.org/simple"
    assert all(Requirement(line) for line in lines[1:]) and "numpy<2" in lines


def test_a_link_out_of_the_model_folder_is_refused_and_inside_links_stay_links(tmp_path):
    secret = tmp_path / "host-secret.txt"
    secret.write_text("TOP SECRET")
    folder = write_spec(tmp_path / "model")
    (folder / "leaked.txt").symlink_to(secret)
    result = subprocess.run(
        [CLI, "build", str(folder), "--out", str(tmp_path / "ctx"), "--skip-audit", "--no-build"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"leaked.txt is a link to {secret}, outside the model folder" in result.stderr
    assert not (tmp_path / "ctx").exists()
    (folder / "leaked.txt").unlink()
    (folder / "data").mkdir()
    (folder / "data" / "weights.bin").write_bytes(b"\x00\x01")
    (folder / "weights-link.bin").symlink_to(folder / "data" / "weights.bin")  # absolute, inside
    context = write_context(load_spec(folder), tmp_path / "ctx")
    link = context.directory / "weights-link.bin"
    assert link.is_symlink() and os.readlink(link) == "data/weights.bin"  # relative: valid in the image too
    assert not any("SECRET" in p.read_text(errors="ignore") for p in context.directory.rglob("*") if p.is_file())


def test_parameters_naming_files_outside_are_refused(tmp_path):
    (tmp_path / "outside.onnx").write_bytes(b"x")
    folder = write_spec(tmp_path / "m", parameters={"model_uri": "../outside.onnx"})
    with pytest.raises(SpecError, match="outside the model folder"):
        write_context(load_spec(folder), tmp_path / "ctx")


def test_tests_are_left_out_of_the_image(tmp_path):
    folder = write_spec(tmp_path / "m")
    (folder / "test_Model.py").write_text("def test(): pass\n")
    (folder / "tests").mkdir()
    (folder / "tests" / "test_more.py").write_text("")
    context = write_context(load_spec(folder), tmp_path / "ctx")
    assert sorted(p.name for p in context.directory.iterdir()) == [
        ".dockerignore",
        "Dockerfile",
        "Model.py",
        "requirements.txt",
        "seldon-model.yaml",
    ]


@pytest.mark.parametrize(
    "field, value, character",
    [
        ("name", "model\nname", "U+000A"),
        ("version", "v1\rx", "U+000D"),
        ("name", "admin\u202egnp.exe", "U+202E"),  # bidi override: shows reversed text
        ("version", "v1\u2028x", "U+2028"),
        ("name", "nul\x00", "U+0000"),
    ],
)
def test_control_and_bidi_characters_are_refused_naming_the_field(tmp_path, field, value, character):
    with pytest.raises(SpecError, match=rf"field '{field}': must not contain {character.replace('+', '[+]')}"):
        load_spec(write_spec(tmp_path / "m", **{field: value}))


def test_unknown_keys_suggest_the_closest(tmp_path):
    with pytest.raises(SpecError, match=r"field 'requirments': unknown key \(did you mean 'requirements'\?\)"):
        load_spec(write_spec(tmp_path / "m", requirments=["numpy"]))


def test_image_references_are_checked_and_commands_are_quoted(tmp_path):
    with pytest.raises(SpecError, match="field 'image'"):
        load_spec(write_spec(tmp_path / "a", image="x$(touch /pwned)"))
    folder = write_spec(tmp_path / "b")
    out = tmp_path / "ctx; touch pwned"
    result = subprocess.run(
        [CLI, "build", str(folder), "--out", str(out), "--skip-audit", "--no-build"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert f"docker build -t example.org/m:1 '{out}'" in result.stdout
    assert "is a placeholder" in result.stdout and "docker push example.org/m:1" in result.stdout


def test_tables_show_hostile_text_on_one_line():
    table = render_table([{"name": "a\nb", "model": "x\u202ey\x1b[31m"}], ("name", "model"))
    assert len(table.splitlines()) == 2 and "\\u000a" in table and "\\u202e" in table and "\x1b" not in table
    assert printable("plain ü") == "plain ü"


# ---- the property test --------------------------------------------------------------------

ANY_TEXT = st.one_of(
    st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=30),  # anything, controls included
    st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=30),  # what is likely accepted
    st.text(st.sampled_from("\"\\$`{}()<>&;|' #=\t"), min_size=1, max_size=30),  # quoting and template syntax
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    name=ANY_TEXT,
    version=ANY_TEXT,
    env_value=ANY_TEXT,
    parameter=ANY_TEXT,
    requirement_text=st.one_of(
        st.sampled_from(["numpy", "numpy>=1,<2", "pillow[extra]; python_version>'3'"]),
        st.sampled_from(["a\nb", "x @ https://h/x.whl", "-i http://h"]),
        ANY_TEXT,
    ),
)
@example(name="0", version="0", env_value="0", parameter="0", requirement_text="\r")  # a blank entry names itself
def test_arbitrary_unicode_is_refused_or_carried_exactly(
    tmp_path, name, version, env_value, parameter, requirement_text
):
    raw = {
        "name": name,
        "version": version,
        "wrapper": "Model.Model",
        "image": "example.org/m:1",
        "env": {"VALUE": env_value},
        "parameters": {"text": parameter},
        "requirements": [requirement_text],
    }
    try:
        spec = parse_spec(raw, source_dir=tmp_path)
    except SpecError as error:
        assert error.field in {"name", "version", "env.VALUE", "requirements[0]"}, error
        event("refused")
        return
    event("carried")
    # YAML manifests parse back to the same values
    manifest = yaml.safe_load(to_yaml(seldon_deployment(spec)))
    annotations = manifest["metadata"]["annotations"]
    assert (annotations[ANNOTATION_MODEL], annotations[ANNOTATION_VERSION]) == (spec.name, spec.version)
    container = manifest["spec"]["predictors"][0]["componentSpecs"][0]["spec"]["containers"][0]
    assert container["env"] == [{"name": "VALUE", "value": spec.env["VALUE"]}]
    assert manifest["spec"]["predictors"][0]["graph"]["parameters"][0]["value"] == parameter
    # the model process's JSON parameters carry the value exactly
    import json

    assert json.loads(parameters_env(spec.parameters))[0]["value"] == parameter
    # the Dockerfile has exactly the expected instructions and the ENV value reads back
    structure = parsed_dockerfile(dockerfile(spec), tmp_path)
    assert [s["instruction"] for s in structure] == [*EXPECTED_INSTRUCTIONS, "ENV", *TAIL_INSTRUCTIONS]
    key, _, word = structure[len(EXPECTED_INSTRUCTIONS)]["value"].partition("=")
    assert key == "VALUE" and buildkit_unquote(word) == spec.env["VALUE"]
    # every requirement line is one requirement
    assert [str(Requirement(r)) for r in spec.requirements] == list(spec.requirements)
