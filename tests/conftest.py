"""Shared pytest plugins for the whole test suite."""

pytest_plugins = [
    "tests.support.smsc_fixture",
    "tests.support.sms_gateway",
    "tests.support.asterisk_fixture",
    "tests.support.pg",
]
