"""Small helpers shared by every capability's views and forms, and the views' one unit of work.

A view commits in one way only, ``commit_or_explain``: it runs one service call, commits once, or
rolls everything back and explains the domain error. No view calls ``db.session.commit()`` or
``rollback()`` itself (``tests/test_one_way.py`` checks), and services never commit. A form that must
take effect once per submission (check in, confirm a redemption) uses ``once.run_once``, which is
built on this helper. On SQLite the write lock of a ``@writes_in_unit_of_work`` view starts here
(``database.unit_of_work``): what the view read before is read again under it.

    ok, item = commit_or_explain(lambda: donations.create_item(current_user, ...), form.name.errors)
    if ok:
        return redirect(...)          # committed
    return render_template(...), 422  # rolled back; the message is in form.name.errors

Where the message goes is the view's choice: a field's errors (the form again, 422), a list the view
flashes or shows on the page, or, without a list, the DomainError is raised again after the rollback
(for a view that picks by the error's type, or for the app's error page).
"""


def error_text(form) -> str:
    """All of a form's validation messages as one line, for a fragment or a flash message."""
    return " ".join(str(message) for messages in form.errors.values() for message in messages)


def commit_or_explain(action, errors: list | None = None):
    """The unit of work of a view: run ``action()`` — one service call — and commit once.

    Returns (True, what the action returned) after the commit. On a DomainError (from the action or
    the commit) everything is rolled back; then with ``errors`` (a field's or the form's error list,
    or a list the view shows) its message is appended and the answer is (False, None); without
    ``errors`` the DomainError is raised again.
    """
    from .database import unit_of_work
    from .errors import DomainError
    from .extensions import db

    with unit_of_work():  # on SQLite, a @writes_in_unit_of_work view takes the write lock here
        try:
            result = action()
            db.session.commit()
        except DomainError as exc:
            db.session.rollback()
            if errors is None:
                raise
            errors.append(exc.message)
            return False, None
    return True, result
