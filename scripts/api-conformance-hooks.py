# Schemathesis hooks for scripts/api-conformance.
import schemathesis
from schemathesis.core import NotSet

# A matrix upload is TOML text (`application/toml`); it goes on the wire as the UTF-8 text
# that was generated, as text/plain would.
schemathesis.serializer.alias("application/toml", "text/plain")


@schemathesis.hook
def filter_case(context, case):
    # A TOML body is text. Schemathesis spells a generated non-string (an object, a number, for
    # a negative case of the wrong type) as its JSON text, which is text all the same, so such a
    # case would not send what it claims to: it is left out. JSON uploads keep every case.
    media_type = (case.media_type or "").split(";")[0].strip()
    return not (media_type == "application/toml" and not isinstance(case.body, (str, NotSet)))


# CPython 3.11 before 3.11.8 can raise SystemError("AST constructor recursion depth mismatch")
# from ast.parse once an earlier parse hit its recursion limit (CPython gh-106905). Hypothesis
# parses source files to describe the lambdas in a strategy's repr, only to name it in reports;
# once that error was raised there, a whole run stopped with a "Runtime Error" that no server
# answer caused. A description that cannot be computed falls back to Hypothesis's own spelling
# for an unknown lambda; nothing about generation or checking changes.
def _guard_lambda_descriptions():
    import inspect

    from hypothesis.internal import lambda_sources

    describe = lambda_sources._lambda_description

    def guarded(f, *args, **kwargs):
        try:
            return describe(f, *args, **kwargs)
        except SystemError:
            params = str(inspect.signature(f))[1:-1]
            return f"lambda {params}: <unknown>" if params else "lambda: <unknown>"

    lambda_sources._lambda_description = guarded


_guard_lambda_descriptions()
