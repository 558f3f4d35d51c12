"""Domain errors: raised by services, shown to people by views.

Each carries a translatable, human message. Views turn them into form errors
(HTTP 422) or, for ``PermissionDenied``, the 403 page.
"""
from flask_babel import lazy_gettext as _l


class DomainError(Exception):
    """A rule of the domain refused the action; ``message`` says why, in the user's language."""

    default_message = _l("操作未能完成。")
    status = 422

    def __init__(self, message=None, **params):
        self.params = params
        self._message = message
        super().__init__(message or self.default_message)

    @property
    def message(self) -> str:
        text = str(self._message or self.default_message)
        return text % self.params if self.params else text


class PermissionDenied(DomainError):
    default_message = _l("您没有权限进行此操作。")
    status = 403


class NotFound(DomainError):
    default_message = _l("找不到该记录。")
    status = 404
