"""The instructor pipeline: build, autograde, check, report and demo, each verb its own module."""
