"""One truth for metadata: license, README settings tables, meltano.yml settings."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import tomllib
from pathlib import Path
from types import ModuleType

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
LICENSE_ID = "Apache-2.0"


def _readme_settings() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "readme_settings", ROOT / "scripts" / "readme_settings.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _readme() -> str:
    return (ROOT / "README.md").read_text(encoding="utf-8")


def test_license_file_is_the_apache_2_0_text():
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")

    assert "Apache License" in text
    assert "Version 2.0, January 2004" in text
    assert "http://www.apache.org/licenses/" in text


def test_pyproject_declares_the_same_license_as_the_license_file():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))

    assert project["project"]["license"] == LICENSE_ID
    assert project["project"].get("license-files") == ["LICENSE"]


def test_readme_license_section_names_the_same_license():
    section = _readme().split("\n## License\n", 1)

    assert len(section) == 2, "README.md has no '## License' section"
    assert section[1].strip().splitlines()[0].startswith(f"{LICENSE_ID}.")


def test_readme_starts_with_the_demo_and_test_commands():
    lines = _readme().splitlines()
    block = lines[lines.index("```bash") + 1 : lines.index("```")]

    commands = [line.split("#", 1)[0].strip() for line in block]
    assert commands == ["bash scripts/demo", "bash scripts/test"]
    assert lines.index("```bash") <= 2


@pytest.mark.parametrize("plugin", ["tap-hubspot-courses", "target-hubspot-courses"])
def test_readme_settings_table_matches_about_markdown(plugin):
    module = _readme_settings()
    begin, end = module.markers(plugin)
    readme = _readme()
    assert begin in readme
    assert end in readme

    embedded = readme.split(begin, 1)[1].split(end, 1)[0].lstrip("\n")
    generated = module.settings_table(module.about_markdown(plugin))

    assert embedded == generated, (
        f"README.md's {plugin} settings differ from '--about'; run "
        "'bash scripts/update-readme-settings'"
    )


@pytest.mark.parametrize("plugin", ["tap-hubspot-courses", "target-hubspot-courses"])
def test_meltano_yml_declares_every_plugin_setting(plugin):
    project = yaml.safe_load((ROOT / "meltano.yml").read_text(encoding="utf-8"))
    declared = {
        setting["name"]
        for kind in ("extractors", "loaders")
        for entry in project["plugins"].get(kind, [])
        if entry["name"] == plugin
        for setting in entry.get("settings", [])
    }
    about = subprocess.run(
        [sys.executable, "-m", plugin.replace("-", "_"), "--about", "--format=json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    settings = json.loads(about.stdout)["settings"]["properties"]
    own = {
        name
        for name in settings
        if name not in {"stream_maps", "stream_map_config", "faker_config"}
        and not name.startswith(("flattening_", "batch_config"))
    }

    assert own - declared == set()
    secrets = {name for name, schema in settings.items() if schema.get("secret")}
    passwords = {
        setting["name"]
        for kind in ("extractors", "loaders")
        for entry in project["plugins"].get(kind, [])
        if entry["name"] == plugin
        for setting in entry.get("settings", [])
        if setting.get("kind") == "password"
    }
    assert secrets == passwords


def test_meltano_yml_holds_no_credentials_and_no_telemetry():
    project = yaml.safe_load((ROOT / "meltano.yml").read_text(encoding="utf-8"))

    assert project["send_anonymous_usage_stats"] is False
    assert "version" not in project
    for kind in ("extractors", "loaders"):
        for entry in project["plugins"][kind]:
            assert entry.get("pip_url"), f"{entry['name']} has no pip_url"
            config = entry.get("config") or {}
            for name in ("access_token", "client_secret", "refresh_token", "password"):
                assert name not in config, f"{entry['name']} sets {name} in the file"
