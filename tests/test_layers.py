"""The layers of docs/architecture.md, kept: no module imports one of a layer above its own.

Each app has model-level modules (models, services, reads, rules) and page modules (views, URLs,
the Django admin, template tags, context processors, management commands). Model-level modules
import only their own app and the apps below it; page modules sit above every app's model level
and ``nnrr.access`` (a page may show any app's data, through the one way in), but never import
another app's page module. The test reads the imports of every module (``ast``, not by importing
them), so an import inside a function counts too.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "nnrr"

# Bottom to top; apps on one line are side by side and import none of each other.
LAYERS: list[tuple[str, ...]] = [
    ("lib",),
    ("accounts",),
    ("audit",),
    ("patients",),
    ("questionnaires",),
    ("scheduling",),
    ("portal", "worklists", "exports", "reports", "appointments"),
    ("access",),  # nnrr/access.py: the one way in to patient data, for every page
    ("administration", "api"),  # the Logg, innsyn and the administration pages; the FHIR API
    ("demo",),
]
LAYER = {app: level for level, apps in enumerate(LAYERS) for app in apps}

PAGE = re.compile(
    r"(^|/)(views|\w+_views|urls|\w+_urls|admin|context_processors)\.py$"
    r"|/templatetags/|/management/commands/"
)

# Known exceptions, each with its reason; the list only shrinks.
ALLOWED: dict[tuple[str, str], str] = {
    (
        "accounts/profiles.py",
        "nnrr.worklists.models",
    ): "the red dot rides on the one profile query every request makes (docs/decisions/0019)",
    (
        "reports/management/commands/report_notices.py",
        "nnrr.scheduling.management.commands.worker",
    ): "the --now option's parser, shared by the two commands",
}


def _app(path: Path, root: Path) -> str:
    parts = path.relative_to(root).parts
    return parts[0] if len(parts) > 1 else parts[0].removesuffix(".py")


def _is_page(relative: str) -> bool:
    return bool(PAGE.search("/" + relative))


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            if node.module == "nnrr":
                found.update(f"nnrr.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name.startswith("nnrr.")}


def violations(root: Path = ROOT) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root).as_posix()
        app = _app(path, root)
        if "migrations" in path.parts or app not in LAYER:
            continue  # settings, urls, wsgi and the CLI are entry points over everything
        page = _is_page(relative)
        for module in sorted(_imports(path)):
            target = module.split(".")[1]
            if target == app or target not in LAYER or (relative, module) in ALLOWED:
                continue
            target_path = "/".join(module.split(".")[1:])
            if _is_page(target_path + ".py") or _is_page(target_path + "/"):
                found.append(f"{relative} imports the page module {module}")
            elif not page and LAYER[target] > LAYER[app]:
                found.append(f"{relative} ({app}) imports {module}, a layer above it")
    return found


def test_no_module_imports_a_layer_above_its_own() -> None:
    assert violations() == []


def test_the_check_finds_imports_that_point_up_or_at_another_apps_page(tmp_path: Path) -> None:
    # The audit trail (a low layer) reading patients (above it), and a page reaching into
    # another app's page, are what must fail; a page reading any app's models is fine.
    (tmp_path / "audit").mkdir()
    (tmp_path / "audit" / "services.py").write_text("from nnrr.patients.models import Patient\n")
    (tmp_path / "audit" / "views.py").write_text("from nnrr.patients.models import Patient\n")
    (tmp_path / "patients").mkdir()
    (tmp_path / "patients" / "views.py").write_text("from nnrr.worklists.views import index\n")
    assert violations(tmp_path) == [
        "audit/services.py (audit) imports nnrr.patients.models, a layer above it",
        "patients/views.py imports the page module nnrr.worklists.views",
    ]


def test_every_app_has_a_layer() -> None:
    apps = {
        path.name for path in ROOT.iterdir() if path.is_dir() and (path / "__init__.py").exists()
    }
    assert apps - {"locale"} <= set(LAYER)
