"""Every private singer-sdk name the target relies on still exists, with the signature we
call it with, and is still called where we expect it (docs/sdk-surface.md lists why each is
used). An SDK upgrade that renames or stops calling one fails here, not silently in prod."""

from __future__ import annotations

import inspect

import pytest
from singer_sdk import Target
from target_breezeway_postgres.target import TargetBreezewayPostgres

#: (SDK class, method name, parameter names after self) the target overrides.
OVERRIDDEN = [
    (Target, "_process_record_message", ["message_dict"]),
    (Target, "_write_state_message", ["state"]),
    (Target, "_handle_termination", ["signum", "frame"]),
]


@pytest.mark.parametrize(("cls", "name", "parameters"), OVERRIDDEN,
                         ids=[name for _, name, _ in OVERRIDDEN])
def test_each_private_hook_exists_with_its_signature(cls, name, parameters):
    method = getattr(cls, name)
    assert list(inspect.signature(method).parameters)[1:] == parameters
    assert getattr(TargetBreezewayPostgres, name) is not method  # ours is in place


def test_the_sdk_still_calls_them_where_we_expect():
    """Reading a RECORD dispatches to _process_record_message; a drain writes the state
    through _write_state_message; the signal handler is _handle_termination."""
    from singer_sdk import plugin_base, target_base

    assert "self._process_record_message" in inspect.getsource(plugin_base)
    assert "self._write_state_message(" in inspect.getsource(target_base.Target.drain_all)
    assert "_handle_termination" in inspect.getsource(plugin_base)


def test_listen_is_still_what_invoke_calls():
    """`listen` is final in the SDK; we wrap it (calling it) to record the run's outcome."""
    assert "target.listen(" in inspect.getsource(Target.invoke)
    assert "super().listen(" in inspect.getsource(TargetBreezewayPostgres._run)
