//! The sales side of the command line: orders, complaints, monthly targets, the KPI report and
//! the due lists.

use clap::{Args, Subcommand};

use super::Json;

/// `fieldsync order …`
#[derive(Debug, Subcommand)]
pub enum OrderCmd {
    /// Start an order (a draft of yours) for a customer; prints its id.
    Add(OrderAdd),
    /// Add a line to a draft order.
    Item(OrderItem),
    /// Send a draft for confirmation; its lines are frozen from then on.
    Submit {
        /// Order id.
        id: String,
    },
    /// Confirm a submitted order (a manager or an admin, not the rep who took it).
    Confirm {
        /// Order id.
        id: String,
    },
    /// Record that a confirmed order was shipped (a manager or an admin).
    Ship {
        /// Order id.
        id: String,
    },
    /// Record that a shipped order was paid (a manager or an admin).
    Pay {
        /// Order id.
        id: String,
    },
    /// Cancel an order: its rep while it is a draft, a manager later.
    Cancel {
        /// Order id.
        id: String,
        /// Why.
        #[arg(long)]
        note: Option<String>,
    },
    /// List orders, newest first.
    List {
        /// Only this rep's.
        #[arg(long)]
        owner: Option<String>,
        /// Only this customer's.
        #[arg(long)]
        customer: Option<String>,
        /// Only in this status (draft, submitted, confirmed, shipped, paid, cancelled).
        #[arg(long)]
        status: Option<String>,
        #[command(flatten)]
        json: Json,
    },
    /// Show an order: its lines, total, gross profit and every step it took.
    Show {
        /// Order id.
        id: String,
        #[command(flatten)]
        json: Json,
    },
}

/// `fieldsync order add` options.
#[derive(Debug, Args)]
pub struct OrderAdd {
    /// Customer id.
    #[arg(long)]
    pub customer: String,
    /// The order number printed on paper (default: made from the day and the id).
    #[arg(long)]
    pub number: Option<String>,
    /// The order's day, YYYY-MM-DD (default today).
    #[arg(long)]
    pub date: Option<String>,
    /// Promised delivery day, YYYY-MM-DD.
    #[arg(long)]
    pub delivery: Option<String>,
    /// Payment terms, e.g. "30 days net".
    #[arg(long)]
    pub terms: Option<String>,
    /// A note.
    #[arg(long)]
    pub note: Option<String>,
    /// Currency of every price (default CNY).
    #[arg(long)]
    pub currency: Option<String>,
}

/// `fieldsync order item` options.
#[derive(Debug, Args)]
pub struct OrderItem {
    /// Order id.
    pub id: String,
    /// Product code.
    #[arg(long)]
    pub product: String,
    /// Product name.
    #[arg(long)]
    pub name: String,
    /// How many units.
    #[arg(long, allow_hyphen_values = true)]
    pub quantity: i64,
    /// Price of one unit in yuan, e.g. 120.50.
    #[arg(long, allow_hyphen_values = true)]
    pub price: String,
    /// Cost of one unit in yuan, for the gross profit.
    #[arg(long, allow_hyphen_values = true)]
    pub cost: Option<String>,
    /// The unit: box, piece, kg (default piece).
    #[arg(long)]
    pub unit: Option<String>,
}

/// `fieldsync complaint …`
#[derive(Debug, Subcommand)]
pub enum ComplaintCmd {
    /// Record a customer's complaint; prints its id.
    Add(ComplaintAdd),
    /// Give a complaint to someone to deal with (managers and admins).
    Assign {
        /// Complaint id.
        id: String,
        /// The user who deals with it.
        #[arg(long)]
        to: String,
    },
    /// Move a complaint on: investigating, handled, followed_up (with the follow-up visit),
    /// closed.
    Step {
        /// Complaint id.
        id: String,
        /// investigating, handled, followed_up or closed.
        #[arg(long)]
        to: String,
        /// The visit that followed it up (回访), for followed_up.
        #[arg(long)]
        visit: Option<String>,
        /// What was done.
        #[arg(long)]
        note: Option<String>,
    },
    /// List complaints, newest first, with their first-response deadlines.
    List {
        /// Only those still waiting for their first response past its deadline.
        #[arg(long)]
        overdue: bool,
        /// Only those not closed.
        #[arg(long)]
        open: bool,
        /// Only this customer's.
        #[arg(long)]
        customer: Option<String>,
        /// Only those assigned to this user.
        #[arg(long)]
        assignee: Option<String>,
        /// Only in this status (received, investigating, handled, followed_up, closed).
        #[arg(long)]
        status: Option<String>,
        #[command(flatten)]
        json: Json,
    },
    /// Show a complaint: what the customer said, its deadline and every step it took.
    Show {
        /// Complaint id.
        id: String,
        #[command(flatten)]
        json: Json,
    },
}

/// `fieldsync complaint add` options.
#[derive(Debug, Args)]
pub struct ComplaintAdd {
    /// Customer id.
    #[arg(long)]
    pub customer: String,
    /// logistics, quality, after_sales or other.
    #[arg(long)]
    pub category: String,
    /// urgent, high or normal: it sets the first-response deadline.
    #[arg(long)]
    pub priority: String,
    /// What the customer said.
    #[arg(long)]
    pub summary: String,
    /// visit, phone, email, wechat or other (default other).
    #[arg(long)]
    pub channel: Option<String>,
    /// When the customer complained, RFC 3339 (default now).
    #[arg(long)]
    pub received_at: Option<String>,
    /// Who deals with it.
    #[arg(long)]
    pub assignee: Option<String>,
}

/// `fieldsync target …`
#[derive(Debug, Subcommand)]
pub enum TargetCmd {
    /// Set a rep's target for a month (managers and admins); a figure left out keeps its
    /// value. Prints the target's id.
    Set {
        /// The rep.
        #[arg(long)]
        rep: String,
        /// The month, YYYY-MM.
        #[arg(long)]
        month: String,
        /// Sales in yuan, e.g. 100000.
        #[arg(long, allow_hyphen_values = true)]
        sales: Option<String>,
        /// Visits.
        #[arg(long, allow_hyphen_values = true)]
        visits: Option<i64>,
        /// New customers.
        #[arg(long, allow_hyphen_values = true)]
        new_customers: Option<i64>,
    },
    /// List the targets that count (the last one set per rep and month).
    List {
        /// Only this rep's.
        #[arg(long)]
        rep: Option<String>,
        /// Only this month, YYYY-MM.
        #[arg(long)]
        month: Option<String>,
        #[command(flatten)]
        json: Json,
    },
}

/// `fieldsync report kpi` options.
#[derive(Debug, Args)]
pub struct KpiArgs {
    /// The rep (default: you).
    #[arg(long, conflicts_with = "team")]
    pub rep: Option<String>,
    /// Your team as a whole, and each of its members.
    #[arg(long)]
    pub team: bool,
    /// The month, YYYY-MM (default: this month).
    #[arg(long, conflicts_with = "quarter")]
    pub month: Option<String>,
    /// The quarter, YYYY-Qn.
    #[arg(long)]
    pub quarter: Option<String>,
    #[command(flatten)]
    pub json: Json,
}
