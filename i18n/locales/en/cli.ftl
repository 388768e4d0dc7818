# The command line, `fieldsync`: labels, table headers, confirmations and its own errors.
# English is the source: these texts are exactly what the CLI printed before it was
# translated, and the end-to-end tests compare them, so change one only with its test.
# A comment above a message declares the variables a translation may use besides the
# ones the English text uses.

## Words used in many places

cli-yes = yes
cli-no = no
cli-none = none
# Shown where a list or a value is empty.
cli-none-paren = (none)
cli-never = never
# A field label in a list of fields: "customer:".
cli-label = { $label }:
# Between the items of a list on one line.
cli-list-separator = {", "}
# A name and the id it stands for: "华东精密 (0193…)".
cli-name-and-id = { $name } ({ $id })
# A day range.
cli-date-range = { $from } to { $to }
# A step an order, complaint, plan or claim took.
cli-step = { $at } { $status } by { $by }
cli-step-with-note = { $at } { $status } by { $by }: { $note }
# When a document was made, and by whom.
cli-created-by = { $at } by { $by }
# A list shows only part of what matches; $how says how to see the rest.
cli-cut-first = { $shown } of { $total } shown: { $how }
cli-cut-page = { $first } to { $last } of { $total } shown: { $how }
cli-cut-how-page = use --limit or --page

## Session and sync

# $username is the user name typed at login.
cli-password-prompt = password for { $username }:{" "}
cli-logged-in = logged in to { $server } as { $username } ({ $role }); run `fieldsync sync` to fetch your data
cli-not-logged-in = not logged in
cli-logged-out = logged out { $username }
cli-status-user = { $username } ({ $role })
cli-status-user-territories = { $username } ({ $role }, territories { $territories })
cli-status-field-user = user
cli-status-field-server = server
cli-status-field-store = store
cli-status-field-cursor = cursor
cli-status-field-unsent = unsent documents
cli-status-field-quarantined = quarantined
cli-status-field-attachments = attachments to upload
cli-status-field-last-sync = last sync
cli-status-attachments-pending = { $count } ({ $size })
cli-sync-progress-start = syncing…
cli-sync-progress-unsent = syncing: { $count } documents to push…
cli-sync-progress-upload = uploading { $number } of { $of }: { $name } { $percent }% ({ $done } of { $size })
cli-sync-progress-download = fetching { $number } of { $of }: { $name } { $percent }% ({ $done } of { $size })
cli-sync-progress-round = round { $round }: { $pushed } pushed, { $pulled } pulled
cli-sync-progress-round-to-push = round { $round }: { $pushed } pushed, { $to_push } to push, { $pulled } pulled
cli-sync-progress-more = { $progress }, more to come
cli-synced = synced: { $pushed } pushed, { $pulled } pulled, { $rejected } rejected ({ $round_trips } round trips, { $bytes_sent } bytes sent, { $bytes_received } received, { $millis } ms)
# Each of these continues the line of cli-synced.
cli-synced-attachments = ; attachments: { $uploaded } uploaded ({ $sent }), { $fetched } fetched ({ $received })
cli-synced-attachments-pending = ; { $count } attachments wait to upload (sync again)
cli-synced-attachments-refused = ; { $count } attachments refused: see `fieldsync status`
cli-synced-rejected = ; see `fieldsync quarantine` for what the server refused
# One round of `sync --watch` that moved something; $time is the local time of day.
cli-watch-round = { $time } pushed { $pushed }, pulled { $pulled }
# Each of these continues the line of cli-watch-round.
cli-watch-changed = { " " }({ $kinds } changed)
cli-watch-kind-count = { $count } { $kind }
cli-watch-removed = , { $count } removed
cli-watch-rejected = , { $count } rejected: see `fieldsync quarantine`
cli-watch-error = { $error }; still watching, retrying
cli-watch-started = watching for changes; Ctrl-C stops
cli-watch-stopped = stopped
cli-conflicts-header-document = DOCUMENT
cli-conflicts-header-kind = KIND
cli-conflicts-header-field = FIELD
cli-conflicts-header-number = #
cli-conflicts-header-value = VALUE
cli-conflicts-header-by = BY
cli-conflicts-header-device = DEVICE
cli-conflicts-header-at = AT
cli-conflicts-header-shown = SHOWN
cli-conflicts-empty = no conflicts: every field holds one value
cli-conflict-resolved = { $field } is now { $value }
cli-handover-done = { $count } customer(s) of { $from } now belong to { $to }; sync to see the change

## Customers and contacts

cli-customer-header-id = ID
cli-customer-header-name = NAME
cli-customer-header-tier = TIER
cli-customer-header-status = STATUS
cli-customer-header-territory = TERRITORY
cli-customer-header-owner = OWNER
cli-customer-header-city = CITY
cli-customer-header-last-visit = LAST VISIT
cli-customer-header-next-followup = NEXT FOLLOW-UP
cli-customer-empty = no customers match
cli-customer-page-past-end = page { $page } is past the end: { $total } customers match
cli-customer-field-set = { $field } set
cli-customer-note-added = note added
cli-customer-field-id = id
cli-customer-field-name = name
cli-customer-field-type = type
cli-customer-field-tier = tier
cli-customer-field-key-account = key account
cli-customer-field-status = status
cli-customer-field-territory = territory
cli-customer-field-owner = owner
cli-customer-field-industry = industry
cli-customer-field-province = province
cli-customer-field-city = city
cli-customer-field-address = address
cli-customer-field-phone = phone
cli-customer-field-monthly-demand = monthly demand
cli-customer-field-current-supplier = current supplier
cli-customer-field-current-price = current price
cli-customer-field-competitor-notes = competitor notes
cli-customer-field-notes = notes
cli-customer-field-created = created
cli-customer-contacts = contacts:
cli-customer-recent-visits = recent visits:
cli-customer-all-visits = see them all with `fieldsync visit list --customer { $id }`
cli-contact-header-id = ID
cli-contact-header-name = NAME
cli-contact-header-title = TITLE
cli-contact-header-phone = PHONE
cli-contact-header-email = EMAIL
cli-contact-header-decides = DECIDES
cli-contact-added = contact added
cli-contact-changed = contact changed
cli-contact-empty = no contacts at { $customer }: add one with `fieldsync contact add { $id } --name NAME`
cli-followups-none-today = no follow-ups due on today
cli-followups-none-on = no follow-ups due on { $day }
cli-followup-header-customer = CUSTOMER
cli-followup-header-name = NAME
cli-followup-header-tier = TIER
cli-followup-header-owner = OWNER
cli-followup-header-last-visit = LAST VISIT
cli-followup-header-due = DUE
cli-followup-header-overdue = OVERDUE
cli-followup-header-reason = REASON
cli-followup-days = { $days } d
cli-followup-reason-never-visited = never visited
cli-followup-reason-explicit-date = date set at last visit
cli-followup-reason-cadence = tier cadence

## Visits and attachments

cli-visit-header-id = ID
cli-visit-header-date = DATE
cli-visit-header-customer = CUSTOMER
cli-visit-header-author = AUTHOR
cli-visit-header-type = TYPE
cli-visit-header-outcome = OUTCOME
cli-visit-header-next = NEXT
cli-visit-header-summary = SUMMARY
cli-visit-empty = no visits match
cli-visit-comment-added = comment added
cli-visit-changed = visit changed
cli-visit-field-id = id
cli-visit-field-customer = customer
cli-visit-field-author = author
cli-visit-field-check-in = check-in
cli-visit-field-position = position
cli-visit-field-type = type
cli-visit-field-people-met = people met
cli-visit-field-summary = summary
cli-visit-field-outcome = outcome
cli-visit-field-competitors = competitors
cli-visit-field-quote = quote
cli-visit-field-order = order
cli-visit-field-next-step = next step
cli-visit-field-next-followup = next follow-up
cli-visit-field-comments = comments
cli-visit-check-in = { $at } (local day { $day })
# A person met and their job title.
cli-person-with-title = { $name } ({ $title })
cli-attachment-saved = saved { $path }
cli-attachment-none-pending = nothing waits to upload
cli-attachment-empty = no attachments
cli-attachment-header-id = id
cli-attachment-header-name = name
cli-attachment-header-type = type
cli-attachment-header-size = size
cli-attachment-header-state = state
cli-attachment-header-on = on
cli-attachment-header-note = note
cli-attachment-refused = refused: { $reason }

## Trip plans and expense claims

cli-trip-header-id = ID
cli-trip-header-title = TITLE
cli-trip-header-owner = OWNER
cli-trip-header-approver = APPROVER
cli-trip-header-status = STATUS
cli-trip-header-from = FROM
cli-trip-header-to = TO
cli-trip-header-budget = BUDGET
cli-trip-empty = no trip plans match
cli-trip-field-id = id
cli-trip-field-title = title
cli-trip-field-owner = owner
cli-trip-field-approver = approver
cli-trip-field-status = status
cli-trip-field-dates = dates
cli-trip-field-cities = cities
cli-trip-field-planned-visits = planned visits
cli-trip-field-budget = budget
cli-trip-field-history = history
cli-expense-item-added = item added
cli-expense-item-removed = item removed
cli-expense-amount-corrected = amount corrected
cli-expense-no-receipt = no receipt
cli-expense-header-id = ID
cli-expense-header-title = TITLE
cli-expense-header-owner = OWNER
cli-expense-header-approver = APPROVER
cli-expense-header-status = STATUS
cli-expense-header-trip = TRIP
cli-expense-header-items = ITEMS
cli-expense-header-total = TOTAL
cli-expense-empty = no expense claims match
cli-expense-field-id = id
cli-expense-field-title = title
cli-expense-field-owner = owner
cli-expense-field-approver = approver
cli-expense-field-status = status
cli-expense-field-trip = trip
cli-expense-field-items = items
cli-expense-field-total = total
cli-expense-field-history = history

## Orders, complaints, targets and what is due

cli-order-empty = no orders match
cli-order-line-added = line added: { $lines } line(s), total { $total }
cli-order-header-id = ID
cli-order-header-number = NUMBER
cli-order-header-date = DATE
cli-order-header-customer = CUSTOMER
cli-order-header-owner = OWNER
cli-order-header-status = STATUS
cli-order-header-lines = LINES
cli-order-header-total = TOTAL
cli-order-header-profit = PROFIT
# Continues an order line after its unit price.
cli-order-line-cost = , cost { $cost }
cli-order-field-id = id
cli-order-field-number = number
cli-order-field-customer = customer
cli-order-field-owner = owner
cli-order-field-date = date
cli-order-field-status = status
cli-order-field-delivery = delivery
cli-order-field-terms = terms
cli-order-field-note = note
cli-order-field-lines = lines
cli-order-field-total = total
cli-order-field-gross-profit = gross profit
cli-order-field-history = history
cli-complaint-assigned = assigned to { $user }
# The status a complaint moved to: its code; $status_name is its name (common.ftl).
cli-complaint-stepped = { $status }
cli-complaint-empty = no complaints match
cli-complaint-header-id = ID
cli-complaint-header-customer = CUSTOMER
cli-complaint-header-priority = PRIORITY
cli-complaint-header-category = CATEGORY
cli-complaint-header-status = STATUS
cli-complaint-header-assignee = ASSIGNEE
cli-complaint-header-received = RECEIVED
cli-complaint-header-respond-by = RESPOND BY
cli-complaint-header-overdue = OVERDUE
cli-complaint-header-summary = SUMMARY
cli-complaint-deadline-overdue = { $deadline } (overdue: nobody has looked into it yet)
cli-complaint-field-id = id
cli-complaint-field-customer = customer
cli-complaint-field-recorded-by = recorded by
cli-complaint-field-received = received
cli-complaint-field-channel = channel
cli-complaint-field-category = category
cli-complaint-field-priority = priority
cli-complaint-field-respond-by = respond by
cli-complaint-field-assignee = assignee
cli-complaint-field-status = status
cli-complaint-field-followup-visit = follow-up visit
cli-complaint-field-summary = summary
cli-complaint-field-history = history
cli-target-header-month = MONTH
cli-target-header-rep = REP
cli-target-header-sales = SALES
cli-target-header-visits = VISITS
cli-target-header-new-customers = NEW CUSTOMERS
cli-target-header-set-by = SET BY
cli-target-header-set-at = SET AT
cli-target-empty = no targets set
cli-due-followups = Follow-ups due by today ({ $count })
cli-due-complaints = Complaints past their first-response deadline ({ $count })
cli-due-orders = Orders submitted more than { $days } days ago, not confirmed ({ $count })

## Reports

cli-report-week-title = Weekly report of { $rep } — { $week } ({ $from } to { $to })
cli-report-week-visits = { $visits } visit(s) to { $customers } customer(s)
cli-report-week-no-visits = no visits recorded this week
cli-report-week-by-type = by type: { $counts }
cli-report-week-by-outcome = by outcome: { $counts }
# How many visits of one type or outcome: "follow_up 3".
cli-report-week-count = { $name } { $count }
cli-report-week-customer = { $number }. { $name } ({ $id })
cli-report-week-customer-unknown = customer not on this device
cli-report-week-outcome = , outcome { $outcome }
cli-report-week-met = met: { $people }
cli-report-week-discussed = discussed:
cli-report-week-competitor = competitor: { $competitor }
cli-report-week-quoted = quoted: { $amount }
cli-report-week-ordered = ordered: { $amount }
cli-report-week-next-step = next step: { $step }
cli-report-week-next-followup = next follow-up: { $day }
cli-report-month-is-quarter = '{ $period }' is a quarter: use --quarter { $period }, or --month YYYY-MM
cli-report-quarter-not-quarter = '{ $period }' is not a quarter such as 2026-Q4: use --quarter YYYY-Qn, or --month { $period }
cli-kpi-title = KPIs of { $reps } — { $period } ({ $from } to { $to })
cli-kpi-field-sales = sales
cli-kpi-field-gross-profit = gross profit
cli-kpi-field-visits = visits
cli-kpi-field-new-customers = new customers
cli-kpi-field-followups = follow-ups
cli-kpi-field-complaints = complaints
cli-kpi-field-trip-expenses = trip expenses
# A figure against its target: "12 of target 20 (60.00%)".
cli-kpi-of-target = { $value } of target { $target } ({ $share })
cli-kpi-orders = { $confirmed } orders counted, { $cancelled } cancelled
cli-kpi-sales-before = period before { $previous } ({ $growth }); a year before { $year_before } ({ $growth_year })
cli-kpi-followups = { $on_time } of { $due } due done on time ({ $share }); { $overdue } customer(s) overdue now
cli-kpi-complaints = { $received } received, { $handled } handled, { $in_time } in time ({ $share }); median { $median } to handle
cli-kpi-complaints-now = now: { $open } open, { $overdue } not handled and past their deadline
cli-kpi-hours = { $hours } h
cli-kpi-trip-expenses = { $expenses } ({ $efficiency } per yuan of gross profit)
cli-kpi-header-rep = REP
cli-kpi-header-sales = SALES
cli-kpi-header-target = TARGET
cli-kpi-header-achieved = ACHIEVED
cli-kpi-header-profit = PROFIT
cli-kpi-header-visits = VISITS
cli-kpi-header-new = NEW
cli-kpi-header-followups = FOLLOW-UPS
cli-kpi-header-complaints-in-time = COMPLAINTS IN TIME
cli-kpi-header-trip = TRIP

## The quarantine

cli-quarantine-header-entry = ENTRY
cli-quarantine-header-document = DOCUMENT
cli-quarantine-header-kind = KIND
cli-quarantine-header-rule = RULE
cli-quarantine-header-at = AT
cli-quarantine-header-reason = REASON
cli-quarantine-empty = the quarantine is empty: the server accepted every change
cli-quarantine-field-entry = entry
cli-quarantine-field-document = document
cli-quarantine-field-rule = rule
cli-quarantine-field-reason = reason
cli-quarantine-field-refused-at = refused at
cli-quarantine-field-on-device = on this device
# A document and its kind: "0193… (visit)".
cli-quarantine-document = { $id } ({ $kind })
cli-quarantine-on-device-never-accepted = no: the server never accepted it; `fieldsync quarantine retry` creates it again
cli-quarantine-on-device-left-scope = no: it left this device's scope
cli-quarantine-incomplete = this device no longer has the version of the document these changes build on: shown are the values set and the text typed, not what they replaced; `fieldsync quarantine export` keeps them
cli-quarantine-no-changes = changes: none left: the document already holds them
cli-quarantine-changes = changes:
cli-quarantine-added = added { $value }
cli-quarantine-removed = removed { $value }
cli-quarantine-text-added = text added { $text }
cli-quarantine-text-removed = text removed { $text }
cli-quarantine-retried = { $field }: retried
cli-quarantine-skipped = { $field }: skipped: { $why }
cli-quarantine-recreated = { $kind } { $id } created again as a draft
cli-quarantine-rewritten = { $count } field(s) of { $kind } { $id } written again
# Each of these continues the line of cli-quarantine-recreated or cli-quarantine-rewritten.
cli-quarantine-sync-to-send = : sync to send them
cli-quarantine-kept = ; entry { $entry } stays in quarantine with what was skipped ({ $skipped })
cli-quarantine-removed-entry = ; entry { $entry } is removed from the quarantine
cli-quarantine-exported = entry { $entry } ({ $kind } { $id }) written to { $file }
cli-quarantine-discarded = entry { $entry } discarded
