"""Import-linter contracts for Upskill's layering rules (see docs/architecture.md).

- ``app_boundaries``: an app reaches another app only through its ``services``
  or ``models`` modules (views, endpoints, tasks, forms stay private).
- ``pure_modules``: algorithm modules (``irt.py``, ``cat.py`` ...) and
  ``sandbox`` never import Django, directly or through another module.
"""

from __future__ import annotations

from typing import Any

from grimp import ImportGraph
from importlinter.application import output
from importlinter.domain import fields
from importlinter.domain.contract import Contract, ContractCheck


def _owner(module: str, apps: list[str]) -> str | None:
    for app in apps:
        if module == app or module.startswith(app + "."):
            return app
    return None


class AppBoundaryContract(Contract):
    apps = fields.ListField(subfield=fields.StringField())
    public_modules = fields.ListField(subfield=fields.StringField())

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        apps = [str(app) for app in self.apps]  # type: ignore[attr-defined]
        public = [str(name) for name in self.public_modules]  # type: ignore[attr-defined]
        present = [app for app in apps if app in graph.modules]
        violations: list[dict[str, Any]] = []
        for app in present:
            for importer in sorted({app} | graph.find_descendants(app)):
                for imported in sorted(graph.find_modules_directly_imported_by(importer)):
                    other = _owner(imported, present)
                    if other is None or other == app or imported == other:
                        continue
                    if any(imported == f"{other}.{name}" for name in public):
                        continue
                    lines = [
                        detail["line_number"]
                        for detail in graph.get_import_details(importer=importer,
                                                               imported=imported)
                    ]
                    violations.append(
                        {"importer": importer, "imported": imported, "lines": lines}
                    )
        return ContractCheck(kept=not violations, metadata={"violations": violations})

    def render_broken_contract(self, check: ContractCheck) -> None:
        public = ", ".join(str(name) for name in self.public_modules)  # type: ignore[attr-defined]
        for violation in check.metadata["violations"]:
            lines = ", ".join(f"l.{n}" for n in violation["lines"])
            output.print_error(
                f"{violation['importer']} imports {violation['imported']} ({lines}); "
                f"another app may only be reached through: {public}."
            )
            output.new_line()


class PureModulesContract(Contract):
    modules = fields.ListField(subfield=fields.StringField())
    forbidden = fields.ListField(subfield=fields.StringField())

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        matched: set[str] = set()
        for expression in self.modules:  # type: ignore[attr-defined]
            matched |= graph.find_matching_modules(str(expression))
        violations = []
        for module in sorted(matched):
            for package in self.forbidden:  # type: ignore[attr-defined]
                if str(package) not in graph.modules:
                    continue
                chain = graph.find_shortest_chain(importer=module, imported=str(package),
                                                  as_packages=True)
                if chain:
                    violations.append({"module": module, "chain": list(chain)})
        return ContractCheck(
            kept=not violations,
            warnings=[] if matched else ["No module matched; check the patterns."],
            metadata={"violations": violations},
        )

    def render_broken_contract(self, check: ContractCheck) -> None:
        for violation in check.metadata["violations"]:
            output.print_error(
                f"{violation['module']} must stay pure but imports: "
                + " -> ".join(violation["chain"])
            )
            output.new_line()
