# The error lines of the command line: its own, and client-core's errors as it shows them.
# The English texts are exactly client-core's messages (the CLI's tests compare them), so
# a change of a message in client-core is a change here too. Details that only exist in
# English (a server's explanation, a validation rule's problem, an operating system's
# error) come in as variables and are shown as they are.
# A comment above a message declares the variables a translation may use besides the
# ones the English text uses.

## The command line's own errors

cli-error-log-in-first = log in first: fieldsync login --server URL --username NAME
# $message is the server's or client-core's reason, in English.
cli-error-auth = { $message } (log in with: fieldsync login --server URL --username NAME)
cli-error-output = cannot write the output: { $error }
cli-error-json = cannot write JSON: { $error }
cli-error-no-data-dir = cannot find a data directory for this user: pass --home DIR or set FIELDSYNC_HOME
cli-error-create-home = cannot create { $path }: { $error }; pass another --home DIR
cli-error-password = cannot read the password ({ $error }): type it at a terminal or set FIELDSYNC_PASSWORD
cli-error-login-network = { $reason }: check the server address and that the server is running, then log in again
cli-error-login-auth = { $reason }: check the user name and password
cli-error-logout = logged out here, but the server could not be told: { $error }
cli-error-ctrlc = cannot watch for Ctrl-C: { $error }
cli-error-say-which-value = say which value: --keep N or --value V
cli-error-no-quarantine-entry = no quarantine entry { $entry } on this device: `fieldsync quarantine list` shows the entries
cli-error-write-file = cannot write { $file }: { $error }; choose another file

## client-core's errors (fieldsync_core::Error)

cli-error-invalid = invalid { $field }: { $problem }
cli-error-malformed-id = '{ $id }' is not a document id: ids are UUIDs such as 01932c07-7a3e-7b8e-9f1e-3c2a1b0d4e5f
cli-error-not-found = no document { $id } in this store: check the id, or sync to fetch it
# $kind is what the user named: customer, visit, trip plan, expense claim, …
cli-error-unknown = unknown { $kind } { $id }: it is not on this device; list them, or sync to fetch it
# $found and $expected are kinds of document, with their article in English ("an order").
cli-error-wrong-kind = document { $id } is { $found }, not { $expected }
cli-error-unknown-kind = unknown document kind '{ $kind }': expected customer, visit, trip_plan, expense_claim, order, complaint or target
cli-error-corrupt = corrupt document data: { $detail }; the bytes were not stored, ask the sender to send them again
# $detail says which limit, in English.
cli-error-too-large = { $detail }
# $rule is the rule as the server names it (approval, field_rights, scope).
cli-error-refused = { $reason }
cli-error-id-mismatch = the bytes are for document { $found }, not { $expected }
cli-error-missing-dependencies = changes for document { $id } depend on { $missing } earlier changes this device does not have: sync the whole document
cli-error-store-too-new = the store was written by a newer fieldsync (schema { $found }, this version reads up to { $supported }): update the app
# $detail is the whole English message ("local database error: …").
cli-error-storage = { $detail }
# $detail is the whole English message ("document error: …").
cli-error-document = { $detail }
cli-error-system = { $what }: { $reason }
cli-error-no-quarantine-entry-core = no quarantine entry { $entry } on this device: list the quarantine to see the entries' numbers
cli-error-quarantine-base-missing = the changes of quarantine entry { $entry } build on a version of document { $id } this device no longer has: sync to fetch the document, or export the entry to keep what was typed

## client-core's attachment errors (fieldsync_core::error::AttachmentError)

cli-error-attachment-unreadable = cannot read { $path }: { $reason }; check the path and that the app may read the file
cli-error-attachment-empty = { $name } is empty: attach a file with something in it
cli-error-attachment-too-large = { $name } is { $size } bytes, over the limit of { $limit } bytes for an attachment: attach a smaller file (a photo at a lower resolution, a PDF of fewer pages)
cli-error-attachment-media-type = { $name } is not { $allowed } by its content, whatever its name says: attach a photo or a PDF
cli-error-attachment-unknown = no document on this device references attachment { $id }: check the id, or sync to fetch the document that holds it
cli-error-attachment-not-found = attachment { $id } is not yours to see, or there is no such attachment: check the id, or sync
cli-error-attachment-not-uploaded = attachment { $id } is not uploaded yet (the device that attached it has not synced it): try later
cli-error-attachment-no-thumbnail = the server has no thumbnail of attachment { $id } (it is not a JPEG, PNG or WebP image, or the thumbnail is not made yet): open the attachment itself
cli-error-attachment-damaged = the bytes received for attachment { $id } do not match it (damaged on the way) and were not kept: try again
cli-error-attachment-lost = this device's copy of attachment { $id } ({ $name }) is missing or damaged and was never uploaded: attach the file again

## client-core's sync errors (fieldsync_core::sync::SyncError)

cli-error-network = { $reason }; check the network and sync again (nothing was lost)
# $message is the server's or client-core's reason, in English.
cli-error-session = { $message }
# $message is the server's message, in English.
cli-error-account-disabled = { $message }
# $meaning is what the answer's error code means (errors.ftl), in the user's language.
cli-error-server = the server answered { $status }: { $message }
cli-error-server-uncoded = the server answered { $status }: { $message }
cli-error-update-app = this app is too old for the server: update the app
cli-error-update-app-to = this app is too old for the server: update the app to version { $version } or later
cli-error-server-too-old = the server is older than this app: ask your administrator to upgrade the server
cli-error-protocol = the server's answer does not follow the sync protocol: { $detail }; check the server address, or update the app
cli-error-server-url = '{ $url }' is not a server address: use a URL such as http://sync.example.com:8080
cli-error-incomplete = { $count } document(s) from the server could not be merged (first: { $id }: { $error }); everything else was synced and the next sync fetches them again: if this repeats, update the app
cli-error-too-many-rounds = the sync did not finish after { $rounds } rounds: sync again, and report it if this repeats
cli-error-cancelled = the sync was cancelled; what was synced until then is kept, sync again to finish
