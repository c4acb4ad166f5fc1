"""The course's JupyterLab in Chromium, clicked through as an instructor and a student would (~1.5 minutes on
2 cores, the demo course included).

1. The instructor, on the demo course (``lstm-course demo``): JupyterLab loads with the Nbgrader menu and its
   Formgrader; Manage Assignments lists 01_lstm_gates, Manage Submissions the three demo students with their
   scores; Autograde (the course's grading path, not plain nbgrader) regrades demo-buggy to 13 / 17; the written
   answer of demo-reference is graded by hand to 17 / 17; Generate Feedback and Release Feedback succeed.
2. The whole exchange loop: the instructor releases the assignment; student alice fetches it in the Assignment
   List, opens the notebook, runs its first cells, solves Exercise 1 and the written answer, saves, validates and
   submits; the instructor collects, autogrades (1 / 17), grades the written answer by hand, generates and
   releases the feedback; alice fetches it and reads her final score, hand grade included, in the browser.

Every step is screenshotted, and any console error or uncaught error in any page fails the test (conftest.py).
"""
from __future__ import annotations

import json
import re
from urllib.parse import quote

import nbformat
import pytest

from tests.grading.test_pipeline_e2e import ASSIGNMENT, NOTEBOOK

from .conftest import ACTION_MS

pytestmark = pytest.mark.browser

GRADING_MS = 300_000     # one autograde through the Formgrader: ~15 s on 2 cores
VALIDATE_MS = 300_000    # nbgrader validate runs the whole notebook: ~5 s
WRITTEN_ANSWER = "forget_bias_answer"
#: Exercise 1 as alice types it (the reference solution, without its docstring)
SIGMOID = '''def sigmoid(z):
    z = np.asarray(z)
    with np.errstate(under="ignore"):
        e = np.exp(-np.abs(z))
        return np.where(z >= 0, 1 / (1 + e), e / (1 + e))'''
#: the last line of an exercise's visible-test cell
VISIBLE_TEST_PASSED = 'print("{}: visible tests passed")'
ANSWER = ("With a forget-gate bias of 1, f_t starts near 0.73 instead of 0.5, so the cell state and its gradient "
          "survive many steps at the start of training. Keras adds 1 to the forget block of the bias.")


def expect(target):
    """Playwright's ``expect``, imported once Chromium is known to start, waiting as long as a click may."""
    from playwright.sync_api import expect as playwright_expect

    playwright_expect.set_options(timeout=ACTION_MS)
    return playwright_expect(target)


def exactly(text: str) -> re.Pattern:
    return re.compile(rf"^\s*{re.escape(text)}\s*$")


# --------------------------------------------------------------------------- Formgrader
def formgrader_action(lab, page, button, step: str, timeout: float = GRADING_MS) -> str:
    """Press a Formgrader button, wait for its dialog, screenshot it, require success, close it; the dialog's text."""
    button.click()
    dialog = page.locator("#success-modal, #error-modal")
    ok = dialog.locator(".modal-footer button")
    ok.wait_for(state="visible", timeout=timeout)
    text = dialog.inner_text()
    lab.shot(page, step)
    assert dialog.get_attribute("id") == "success-modal", f"{step}: Formgrader reported an error:\n{text}"
    assert "Traceback" not in text, f"{step}: the dialog shows a traceback:\n{text}"
    ok.click()
    dialog.wait_for(state="detached")
    return text


def assignment_row(page):
    return page.locator("#main-table tr", has=page.locator("td.name", has_text=exactly(ASSIGNMENT)))


def submission_row(page, student: str):
    return page.locator("#main-table tr", has=page.locator("td.student-id", has_text=exactly(student)))


def api(page, server, path: str) -> dict:
    """A Formgrader API answer, with the browser's own login."""
    answer = page.request.get(server.url(path, token=False))
    assert answer.ok, f"{path}: HTTP {answer.status}"
    return json.loads(answer.text())


def grade_written_answer_by_hand(lab, page, instructor, student: str, points: str, shown_text: str | None = None):
    """Manual Grading > the assignment > the notebook > the student's submission: type the written answer's score,
    press Enter, and wait for Formgrader to save it."""
    page.goto(instructor.url(f"/formgrader/gradebook/{ASSIGNMENT}/{NOTEBOOK}", token=False))
    link = page.locator("#main-table a.name-shown", has_text=exactly(student))
    page.goto(instructor.url(link.get_attribute("href"), token=False))   # the link is hidden until names are shown
    score = page.locator(f"input.score#{WRITTEN_ANSWER}")
    score.scroll_into_view_if_needed()
    if shown_text:
        expect(page.locator(".nbgrader_cell", has=score)).to_contain_text(shown_text)
    lab.shot(page, f"formgrade-{student}")
    with page.expect_response(lambda r: "/formgrader/api/grade/" in r.url and r.request.method == "PUT") as saved:
        score.fill(points)
        score.press("Enter")
    assert saved.value.ok, f"saving the hand grade: HTTP {saved.value.status}"
    expect(score).to_have_value(points)
    lab.shot(page, f"hand-graded-{student}")


# --------------------------------------------------------------------------- JupyterLab
def wait_for_lab(page) -> None:
    """JupyterLab's shell is up and nbgrader's plugins have added their menu."""
    expect(page.locator("#jp-main-dock-panel")).to_be_visible(timeout=60_000)
    expect(nbgrader_menu(page)).to_be_visible(timeout=60_000)


def nbgrader_menu(page):
    return page.locator(".lm-MenuBar-itemLabel", has_text=exactly("Nbgrader"))


def menu_item(page, label: str):
    return page.locator(".lm-Menu-itemLabel", has_text=exactly(label))


def open_assignment_list(page):
    nbgrader_menu(page).click()
    menu_item(page, "Assignment List").click()
    panel = page.locator("#nbgrader-assignment-list")
    expect(panel).to_be_visible()
    return panel


def fetched_item(panel):
    return panel.locator("#fetched_assignments_list > .list_item", has_text=ASSIGNMENT)


def notebook_row(panel):
    """The notebook's row under the downloaded assignment (the assignment's row expanded first if need be)."""
    row = fetched_item(panel).locator(".nested_list_item", has_text=NOTEBOOK)
    if not row.is_visible():
        fetched_item(panel).locator("a.assignment-notebooks-link").click()
    expect(row).to_be_visible()
    return row


def edit_cell(page, cell, text: str) -> None:
    """Replace the source of ``cell`` (a code cell, or a markdown cell once in edit mode) with ``text``."""
    editor = cell.locator(".cm-content")
    editor.click()
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(text)   # as pasted: no auto-indent, no auto-closed brackets


# --------------------------------------------------------------------------- tests
def test_instructor_grades_the_demo_class_in_formgrader(lab, demo_course):
    instructor = lab.instructor()

    # JupyterLab itself, its Nbgrader menu, and Formgrader in a Lab tab
    page = lab.open(instructor, "/lab")
    wait_for_lab(page)
    lab.shot(page, "lab")
    nbgrader_menu(page).click()
    for item in ("Formgrader", "Assignment List"):
        expect(menu_item(page, item)).to_be_visible()
    lab.shot(page, "nbgrader-menu")
    menu_item(page, "Formgrader").click()
    in_lab = page.frame_locator("iframe[src*='formgrader']")
    expect(in_lab.locator("#main-table td.name").first).to_have_text(ASSIGNMENT, timeout=60_000)
    lab.shot(page, "formgrader-in-lab")

    # Manage Assignments, then Manage Submissions: the three demo students and their scores
    fg = lab.open(instructor, "/formgrader")
    expect(fg).to_have_url(re.compile(r"/formgrader/manage_assignments"))
    row = assignment_row(fg)
    expect(row.locator("td.num-submissions")).to_have_text("3")
    lab.shot(fg, "manage-assignments")
    row.locator("td.num-submissions a").click()
    expect(fg).to_have_url(re.compile(f"/formgrader/manage_submissions/{ASSIGNMENT}$"))
    demo_scores = {"demo-buggy": "13 / 17", "demo-reference": "15 / 17", "demo-untouched": "0 / 17"}
    for student, score in demo_scores.items():
        expect(submission_row(fg, student).locator("td.score")).to_have_text(score)
    expect(fg.locator("#main-table tr")).to_have_count(len(demo_scores))
    lab.shot(fg, "manage-submissions")

    # Autograde one submission again: the course's grading path answers the button
    log = formgrader_action(lab, fg, submission_row(fg, "demo-buggy").locator("td.autograde a"),
                            "autograded-demo-buggy")
    assert re.search(rf"demo-buggy\s+{ASSIGNMENT}\s+13 / 17", log), log
    assert "checksum" not in log.lower(), log
    expect(submission_row(fg, "demo-buggy").locator("td.score")).to_have_text("13 / 17")

    # The written answer, graded by hand on the submission's Formgrader page
    grade_written_answer_by_hand(lab, fg, instructor, "demo-reference", "2")
    saved = api(fg, instructor, f"/formgrader/api/submission/{ASSIGNMENT}/demo-reference")
    assert (saved["score"], saved["max_score"], saved["needs_manual_grade"]) == (17, 17, False), saved

    # Feedback for that student: generated with the hand grade, then released to the exchange
    fg.goto(instructor.url(f"/formgrader/manage_submissions/{ASSIGNMENT}", token=False))
    reference = submission_row(fg, "demo-reference")
    expect(reference.locator("td.score")).to_have_text("17 / 17")
    expect(reference.locator("td.status")).to_have_text("graded")
    log = formgrader_action(lab, fg, reference.locator("td.generate-feedback a"), "feedback-generated")
    assert "demo-reference" in log, log
    page_of = demo_course / "feedback" / "demo-reference" / ASSIGNMENT / f"{NOTEBOOK}.html"
    assert re.search(r"Score: 17(\.0)? / 17(\.0)?", page_of.read_text(encoding="utf-8")), page_of
    log = formgrader_action(lab, fg, submission_row(fg, "demo-reference").locator("td.release-feedback a"),
                            "feedback-released")
    assert "Feedback released" in log, log
    lab.check("end")


def test_student_and_instructor_go_round_the_exchange(lab, demo_course):
    instructor = lab.instructor()
    fg = lab.open(instructor, "/formgrader/manage_assignments")

    # The instructor releases the assignment
    formgrader_action(lab, fg, assignment_row(fg).locator("td.release a"), "released")
    expect(assignment_row(fg).locator("td.status")).to_have_text("released")

    # alice fetches it and opens the notebook
    student = lab.student("alice")
    home = demo_course / "students" / "alice"
    page = lab.open(student, "/lab")
    wait_for_lab(page)
    panel = open_assignment_list(page)
    panel.locator("#released_assignments_list .list_item", has_text=ASSIGNMENT) \
        .get_by_role("button", name="Fetch").click()
    expect(fetched_item(panel)).to_be_visible()
    lab.shot(page, "fetched")
    assert (home / ASSIGNMENT / f"{NOTEBOOK}.ipynb").is_file()
    notebook_row(panel).locator("a", has_text=NOTEBOOK).click()
    notebook = page.locator(".jp-NotebookPanel:visible")
    # what a student waits for before running a cell: the status bar names the kernel and says it is idle (the
    # toolbar's indicator says "idle" before any kernel is there, and a cell run then does nothing)
    expect(page.locator(".jp-StatusBar-TextItem", has_text=exactly("Python 3 (ipykernel) | Idle"))) \
        .to_be_visible(timeout=60_000)

    # the first code cell (imports, seeds) runs; Exercise 1 is solved and its visible test passes
    first = notebook.locator(".jp-CodeCell").first
    first.locator(".jp-InputPrompt").click()
    page.keyboard.press("Shift+Enter")
    expect(first.locator(".jp-InputPrompt")).to_have_text("[1]:")
    edit_cell(page, notebook.locator(".jp-CodeCell", has_text="def sigmoid("), SIGMOID)
    page.keyboard.press("Shift+Enter")   # defines sigmoid, selects its test cell
    page.keyboard.press("Shift+Enter")   # runs the visible test
    visible_test = notebook.locator(".jp-CodeCell", has_text=VISIBLE_TEST_PASSED.format("sigmoid"))
    expect(visible_test.locator(".jp-OutputArea-output")).to_have_text("sigmoid: visible tests passed")
    lab.shot(page, "exercise-1-passes")

    # the written answer
    answer = notebook.locator(".jp-MarkdownCell", has_text="YOUR ANSWER HERE")
    answer.scroll_into_view_if_needed()
    answer.dblclick()
    edit_cell(page, answer, ANSWER)
    page.keyboard.press("Shift+Enter")   # renders it
    expect(notebook.locator(".jp-MarkdownCell .jp-RenderedMarkdown", has_text=ANSWER[:40])).to_be_visible()
    page.keyboard.press("Control+s")
    expect(page.locator(".lm-TabBar-tab.jp-mod-dirty")).to_have_count(0)
    lab.shot(page, "saved")
    saved = nbformat.read(home / ASSIGNMENT / f"{NOTEBOOK}.ipynb", as_version=4)
    sources = [cell.source for cell in saved.cells]
    assert SIGMOID in sources and ANSWER in sources, "the saved notebook holds alice's work"

    # Validate (Assignment List): Exercise 1's test passes, the unsolved exercises are reported
    page.locator(".lm-TabBar-tab", has_text="Assignments").click()
    notebook_row(panel).get_by_role("button", name="Validate").click()
    dialog = page.locator(".jp-Dialog")
    expect(dialog.locator(".jp-Dialog-header")).to_have_text("Validation Results", timeout=VALIDATE_MS)
    report = dialog.inner_text()
    lab.shot(page, "validated")
    # the dialog shows each failing cell's source: the unsolved Exercise 2's test is there, Exercise 1's is not
    assert VISIBLE_TEST_PASSED.format("forget_gate") in report, report[:3000]
    assert VISIBLE_TEST_PASSED.format("sigmoid") not in report, "Exercise 1 is solved:\n" + report[:3000]
    dialog.get_by_role("button", name="Ok").click()
    expect(dialog).to_have_count(0)

    # Submit
    fetched_item(panel).get_by_role("button", name="Submit").click()
    expect(panel.locator("#submitted_assignments_list .list_item", has_text=ASSIGNMENT)).to_be_visible()
    lab.shot(page, "submitted")
    inbound = demo_course / "exchange" / "nbgrader" / "lstm-course" / "inbound"
    assert list(inbound.glob(f"alice+{ASSIGNMENT}+*")), "the submission is in the exchange"

    # The instructor collects, autogrades, grades the written answer by hand, makes and releases the feedback
    fg.reload()
    formgrader_action(lab, fg, assignment_row(fg).locator("td.collect a"), "collected")
    assert (demo_course / "submitted" / "alice" / ASSIGNMENT / f"{NOTEBOOK}.ipynb").is_file()
    fg.goto(instructor.url(f"/formgrader/manage_submissions/{ASSIGNMENT}", token=False))
    alice = submission_row(fg, "alice")
    expect(alice.locator("td.status")).to_have_text("needs autograding")
    log = formgrader_action(lab, fg, alice.locator("td.autograde a"), "autograded-alice")
    assert re.search(rf"alice\s+{ASSIGNMENT}\s+1 / 17\s+\(\+ manual grading pending\)", log), log
    assert "checksum" not in log.lower(), log
    grade_written_answer_by_hand(lab, fg, instructor, "alice", "2", shown_text=ANSWER[:40])
    graded = api(fg, instructor, f"/formgrader/api/submission/{ASSIGNMENT}/alice")
    assert (graded["score"], graded["needs_manual_grade"]) == (3, False), graded
    fg.goto(instructor.url(f"/formgrader/manage_submissions/{ASSIGNMENT}", token=False))
    expect(submission_row(fg, "alice").locator("td.score")).to_have_text("3 / 17")
    formgrader_action(lab, fg, submission_row(fg, "alice").locator("td.generate-feedback a"), "alice-feedback")
    log = formgrader_action(lab, fg, submission_row(fg, "alice").locator("td.release-feedback a"),
                            "alice-feedback-released")
    assert "Feedback released" in log, log

    # alice fetches the feedback and reads it
    page.bring_to_front()
    panel.locator("#refresh_assignments_list").click()
    submitted = panel.locator("#submitted_assignments_list > .list_item", has_text=ASSIGNMENT)
    submitted.get_by_role("button", name="Fetch Feedback").click()
    view = submitted.get_by_text("(view feedback)")
    expect(view).to_be_visible()
    lab.shot(page, "feedback-fetched")
    view.click()
    expect(page.locator(".jp-DirListing-item", has_text=f"{NOTEBOOK}.html")).to_be_visible()
    lab.shot(page, "feedback-folder")
    pages = sorted((home / ASSIGNMENT / "feedback").glob(f"*/{NOTEBOOK}.html"))
    assert len(pages) == 1, pages
    relative = pages[0].relative_to(home).as_posix()
    feedback = lab.open(student, "/files/" + quote(relative))
    body = feedback.locator("body")
    expect(body).to_contain_text(re.compile(r"Score: 3(\.0)? / 17(\.0)?"))
    expect(body).to_contain_text(ANSWER[:40])
    written = feedback.locator(".nbgrader_cell", has_text=ANSWER[:40])
    expect(written).to_contain_text(re.compile(r"Score: 2(\.0)? / 2(\.0)?"))
    lab.shot(feedback, "feedback-page")
    lab.check("end")
