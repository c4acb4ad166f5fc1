"""Registers the ``adversarial`` marker (until pyproject.toml lists it)."""


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "adversarial: hostile submissions graded in the bubblewrap sandbox on a scratch course (minutes)")
