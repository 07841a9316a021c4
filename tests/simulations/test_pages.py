"""Simulation pages through Django's test client: play by form and by htmx, refusals, compare,
and one learner never reaching another's runs."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from django.test import Client

from tests.simulations.test_services import FRAUD, values_for
from upskill.accounts.models import User
from upskill.simulations import services
from upskill.simulations.models import Run

pytestmark = pytest.mark.django_db

INVENTORY = "inventory-holiday-peak"


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_pages_need_a_login(imported_sims: Path) -> None:
    for url in ("/simulations/", f"/simulations/{FRAUD}/", f"/simulations/{FRAUD}/compare/"):
        response = Client().get(url)
        assert response.status_code == 302 and "/account/login/" in response["Location"]


def test_the_catalog_lists_every_scenario_by_engine(imported_sims: Path, learner: User) -> None:
    page = client_for(learner).get("/simulations/").content.decode()
    for heading in ("Inventory and supply chain", "Recommendation engine", "Fraud operations"):
        assert heading in page
    for scenario in services.list_scenarios():
        assert f'href="/simulations/{scenario.slug}/"' in page


def test_a_scenario_page_shows_brief_goal_controls_and_the_baseline(
        imported_sims: Path, learner: User) -> None:
    response = client_for(learner).get(f"/simulations/{INVENTORY}/")
    assert response.status_code == 200
    page = response.content.decode()
    scenario = services.get_scenario(INVENTORY)
    assert scenario.brief_html in page
    assert "Goal:" in page and "No runs yet" in page
    for name in scenario.spec["controls"]:
        assert f'name="{name}"' in page
    assert "def act(observation):" in page  # the code-mode starter


def test_posting_the_form_plays_a_run_and_shows_it(imported_sims: Path, learner: User) -> None:
    client = client_for(learner)
    response = client.post(f"/simulations/{FRAUD}/run/", values_for(FRAUD))
    assert response.status_code == 302
    assert response["Location"].endswith(f"/simulations/{FRAUD}/?run=1#results")
    page = client.get(response["Location"]).content.decode()
    assert "Run 1" in page and "Debrief" in page and "<svg" in page
    assert "<table" in page  # every chart has its numbers in a table


def test_htmx_gets_the_results_region_and_the_runs_table(imported_sims: Path,
                                                         learner: User) -> None:
    client = client_for(learner)
    client.post(f"/simulations/{FRAUD}/run/", values_for(FRAUD))
    response = client.post(f"/simulations/{FRAUD}/run/", values_for(FRAUD, block_threshold=0.4),
                           HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    page = response.content.decode()
    assert page.lstrip().startswith('<section id="results"')
    assert 'id="runs" aria-labelledby="runs-heading" hx-swap-oob="true"' in page
    assert "Compare runs 1 and 2" in page
    assert re.search(r"<th scope=\"col\">Run 2</th>\s*<th scope=\"col\">Run 1</th>", page)


@pytest.mark.parametrize("htmx", [False, True])
def test_a_bad_value_is_refused_with_the_reason_and_saved_runs_stay(
        imported_sims: Path, learner: User, htmx: bool) -> None:
    client = client_for(learner)
    client.post(f"/simulations/{FRAUD}/run/", values_for(FRAUD))
    headers = {"HX-Request": "true"} if htmx else {}
    response = client.post(f"/simulations/{FRAUD}/run/", {"block_threshold": "lots"},
                           headers=headers)
    page = response.content.decode()
    assert "enter a number" in page
    if htmx:
        assert response.status_code == 200 and 'hx-swap-oob="true"' in page
        assert response["HX-Reswap"] == "none"  # the results shown stay
    else:
        assert response.status_code == 400 and 'value="lots"' in page
    assert Run.objects.filter(user=learner).count() == 1


def test_compare_shows_runs_side_by_side(imported_sims: Path, learner: User) -> None:
    client = client_for(learner)
    client.post(f"/simulations/{FRAUD}/run/", values_for(FRAUD))
    client.post(f"/simulations/{FRAUD}/run/", values_for(FRAUD, block_threshold=0.3))
    response = client.get(f"/simulations/{FRAUD}/compare/?run=1&run=2")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Why run 2 differs from run 1" in page
    assert "Against run 1 your net cost was" in page or "same as run 1" in page
    assert page.count("<svg") >= 3
    refused = client.get(f"/simulations/{FRAUD}/compare/?run=1")
    assert refused.status_code == 400 and "between 2 and" in refused.content.decode()
    assert client.get(f"/simulations/{FRAUD}/compare/?run=x&run=1").status_code == 400


def test_another_learner_gets_404_for_my_runs(imported_sims: Path,
                                              make_user: Callable[..., User]) -> None:
    owner, other = make_user(), make_user()
    mine = client_for(owner)
    mine.post(f"/simulations/{FRAUD}/run/", values_for(FRAUD))
    mine.post(f"/simulations/{FRAUD}/run/", values_for(FRAUD, block_threshold=0.3))
    theirs = client_for(other)
    assert theirs.get(f"/simulations/{FRAUD}/runs/1/").status_code == 404
    assert theirs.get(f"/simulations/{FRAUD}/?run=1").status_code == 404
    assert theirs.get(f"/simulations/{FRAUD}/compare/?run=1&run=2").status_code == 404
    assert "You have not run this simulation yet" in \
        theirs.get(f"/simulations/{FRAUD}/").content.decode()


def test_unknown_scenario_is_a_404_page(imported_sims: Path, learner: User) -> None:
    assert client_for(learner).get("/simulations/no-such-thing/").status_code == 404
    assert client_for(learner).post("/simulations/no-such-thing/run/", {}).status_code == 404


def test_code_that_cannot_run_is_refused_on_the_page(imported_sims: Path,
                                                     learner: User) -> None:
    client = client_for(learner)
    for code, words in (("", "your code is empty"), ("def act(:\n", "syntax error on line 1"),
                        ("x = 1\n", "must define act(observation)")):
        response = client.post(f"/simulations/{FRAUD}/code/", {"code": code})
        assert response.status_code == 400
        assert words in response.content.decode()
    assert not Run.objects.exists()
    huge = "# " + "x" * (services.MAX_CODE_BYTES * 5) + "\ndef act(o):\n    return {}\n"
    response = client.post(f"/simulations/{FRAUD}/code/", {"code": huge})
    assert response.status_code == 413 and not Run.objects.exists()
