"""Errors raised by services; their message is translated and safe to show to a user."""


class ServiceError(Exception):
    """A refused operation: the message says why, in the user's language."""

    status = 400

    def __init__(self, message, **params):
        super().__init__(str(message))
        self.message = message
        self.params = params

    def __str__(self) -> str:
        return str(self.message) % self.params if self.params else str(self.message)


class NotFound(ServiceError):
    status = 404


class Forbidden(ServiceError):
    status = 403


class Conflict(ServiceError):
    status = 409
