""""Which role fits me": a short questionnaire scored against the AI job roles (pure).

Each answer adds points to the roles it suggests; the result is every role
that scored, best first, with the reasons that put it there.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Choice:
    value: str
    label: str
    points: dict[str, int]
    reason: str


@dataclass(frozen=True)
class Question:
    key: str
    text: str
    choices: tuple[Choice, ...]


QUESTIONS: tuple[Question, ...] = (
    Question("background", "What is your work background?", (
        Choice("marketing", "Marketing, sales or communications",
               {"ai-marketing-specialist": 3, "ai-product-manager": 1},
               "builds on your marketing experience"),
        Choice("analysis", "Finance, reporting or business analysis",
               {"data-analyst": 3, "supply-chain-analyst": 1},
               "builds on your analysis experience"),
        Choice("operations", "Operations, logistics or procurement",
               {"supply-chain-analyst": 3, "data-analyst": 1},
               "builds on your operations experience"),
        Choice("software", "Software development or IT",
               {"genai-app-developer": 3, "mlops-engineer": 2, "ml-engineer": 1},
               "builds on your engineering experience"),
        Choice("product", "Product, project or general management",
               {"ai-product-manager": 3, "responsible-ai-specialist": 1},
               "builds on your management experience"),
        Choice("law", "Law, compliance, risk or HR",
               {"responsible-ai-specialist": 3, "ai-product-manager": 1},
               "builds on your governance experience"),
        Choice("returning", "I am returning after a break or changing careers",
               {"data-analyst": 1, "ai-marketing-specialist": 1, "ai-product-manager": 1},
               "has a foundations track that starts from zero"),
    )),
    Question("goal", "What would you most like to do with AI?", (
        Choice("campaigns", "Use AI tools to reach and understand customers",
               {"ai-marketing-specialist": 3}, "matches your goal of customer work"),
        Choice("answers", "Answer business questions with data",
               {"data-analyst": 3, "supply-chain-analyst": 1}, "matches your goal of analysis"),
        Choice("models", "Build and train machine-learning models",
               {"ml-engineer": 3, "data-analyst": 1}, "matches your goal of building models"),
        Choice("forecast", "Forecast demand and plan stock",
               {"supply-chain-analyst": 3}, "matches your goal of planning"),
        Choice("apps", "Build applications on large language models",
               {"genai-app-developer": 3}, "matches your goal of building LLM apps"),
        Choice("run", "Run models reliably in production",
               {"mlops-engineer": 3, "ml-engineer": 1}, "matches your goal of operating models"),
        Choice("lead", "Decide what AI products to build and lead the team",
               {"ai-product-manager": 3}, "matches your goal of leading products"),
        Choice("fair", "Make sure AI is fair, safe and lawful",
               {"responsible-ai-specialist": 3}, "matches your goal of trustworthy AI"),
    )),
    Question("code", "How do you feel about writing code?", (
        Choice("none", "I would rather not code",
               {"ai-marketing-specialist": 2, "ai-product-manager": 2,
                "responsible-ai-specialist": 2}, "needs little or no coding"),
        Choice("some", "Formulas and a little SQL or Python are fine",
               {"data-analyst": 2, "supply-chain-analyst": 2, "ai-marketing-specialist": 1},
               "needs light, practical coding"),
        Choice("lots", "I enjoy programming",
               {"ml-engineer": 2, "genai-app-developer": 2, "mlops-engineer": 2},
               "uses your programming"),
    )),
)


@dataclass(frozen=True)
class Suggestion:
    role_slug: str
    score: int
    reasons: tuple[str, ...]


def suggest_roles(answers: dict[str, str]) -> list[Suggestion]:
    """Roles ranked by points from the answers; unknown questions or values are ignored."""
    scores: dict[str, int] = {}
    reasons: dict[str, list[str]] = {}
    for question in QUESTIONS:
        chosen = next((c for c in question.choices if c.value == answers.get(question.key)), None)
        if chosen is None:
            continue
        for role, points in chosen.points.items():
            scores[role] = scores.get(role, 0) + points
            reasons.setdefault(role, []).append(chosen.reason)
    ranked = sorted(scores.items(), key=lambda item: (-item[1], item[0]))
    return [Suggestion(role, score, tuple(reasons[role])) for role, score in ranked]
