# Words every part of the product shares: roles, kinds of document, statuses.
# A message id that names a value of the wire keeps the value exactly (`status-followed_up`,
# `kind-trip_plan`), so code finds the message from the value alone.

## Roles

role-rep = rep
role-manager = manager
role-admin = admin

## Kinds of document

kind-customer = customer
kind-visit = visit
kind-trip_plan = trip plan
kind-expense_claim = expense claim
kind-order = order
kind-complaint = complaint
kind-target = target

## Statuses of plans, claims, orders and complaints

status-draft = draft
status-submitted = submitted
status-approved = approved
status-rejected = rejected
status-paid = paid
status-confirmed = confirmed
status-shipped = shipped
status-cancelled = cancelled
status-received = received
status-investigating = investigating
status-handled = handled
status-followed_up = followed up
status-closed = closed
