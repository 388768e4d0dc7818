# The error codes of the HTTP API (docs/PROTOCOL.md, "Errors"): what each means for a
# person, for any client that shows an answer's `error` code (the web console, the CLI).
# The message id is `error-` and the code exactly as it is on the wire.
# The answer's own `message` is English and says the specifics: show it beside these.

error-bad_request = the request is malformed
error-unauthenticated = you are not logged in, or the user name or password is wrong: log in again
error-token_expired = your session expired: log in again
error-account_disabled = your account is disabled: ask your administrator to enable it
error-forbidden = you are not allowed to do this
error-not_found = not found: it does not exist, or it is not yours to see
error-not_uploaded = the attachment is not uploaded yet: try later
error-no_thumbnail = there is no thumbnail of this attachment: open the attachment itself
error-upload_offset = the upload was out of step with the server: it resumes from what the server has
error-range_not_satisfiable = the part of the file asked for is beyond its end
error-too_large = too large: make it in smaller steps
error-unsupported_media_type = this type of content is not accepted
error-invalid = the data is invalid
error-hash_mismatch = the bytes do not match their checksum (damaged on the way): try again
error-rate_limited = too many attempts: wait a moment and try again
error-refused = the server refused this change for the reason it gives, as it would refuse it from a device
error-client_too_old = this app is too old for the server: update the app
error-server_too_old = the server is older than this app: ask your administrator to upgrade the server
error-method_not_allowed = this address does not take this kind of request
error-internal = the server failed: try again later, and tell your administrator if it repeats
error-unavailable = the server cannot save right now: try again in a moment
