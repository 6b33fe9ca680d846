"""Domain exceptions raised by services; kms.web maps them to HTTP status codes."""


class KmsError(Exception):
    """Base class: a message a user may read, never internal detail."""

    status = 400

    def __init__(self, message: str = "", **details):
        super().__init__(message or self.__class__.__doc__)
        self.message = message or (self.__class__.__doc__ or "").strip()
        self.details = details


class Invalid(KmsError):
    """The input is not acceptable."""

    status = 400

    def __init__(self, message: str = "", field: str | None = None, **details):
        super().__init__(message, **details)
        self.field = field


class NotFound(KmsError):
    """Not found."""

    status = 404


class Forbidden(KmsError):
    """You are not allowed to do that."""

    status = 403


class Conflict(KmsError):
    """The item changed since you opened it."""

    status = 409


class TooManyAttempts(KmsError):
    """Too many attempts; wait before trying again."""

    status = 429

    def __init__(self, message: str = "", retry_after: int = 60, **details):
        super().__init__(message, **details)
        self.retry_after = retry_after
