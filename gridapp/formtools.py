"""Small helpers shared by every capability's forms."""


def error_text(form) -> str:
    """All of a form's validation messages as one line, for a fragment or a flash message."""
    return " ".join(str(message) for messages in form.errors.values() for message in messages)


def commit_or_explain(action, errors: list):
    """Run ``action()`` — one service call — and commit once. On a DomainError roll back, add its
    message to ``errors`` (a field's or the form's error list) and return (False, None).
    Returns (True, what the action returned) on success."""
    from .errors import DomainError
    from .extensions import db

    try:
        result = action()
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        errors.append(exc.message)
        return False, None
    return True, result
