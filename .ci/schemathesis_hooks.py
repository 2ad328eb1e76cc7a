"""Schemathesis checks of our own (loaded through SCHEMATHESIS_HOOKS by .ci/schemathesis)."""
import json

import schemathesis


@schemathesis.check
def no_server_error(ctx, response, case):
    """Like not_a_server_error, but a service started without a Postgres mirror may answer
    `?source=mirror` with its documented 503 mirrorNotConfigured: that is configuration, not a bug."""
    if response.status_code < 500:
        return None
    try:
        problem = json.loads(response.content)
    except ValueError:
        problem = {}
    if response.status_code == 503 and str(problem.get("type", "")).endswith("/mirrorNotConfigured"):
        return None
    raise AssertionError(f"server error {response.status_code} {problem.get('type', '')}: {problem.get('detail', response.text[:200])}")
