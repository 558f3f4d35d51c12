"""Small helpers shared by every capability's forms."""


def error_text(form) -> str:
    """All of a form's validation messages as one line, for a fragment or a flash message."""
    return " ".join(str(message) for messages in form.errors.values() for message in messages)
