//! What server nodes on one PostgreSQL database share besides its tables: claims on documents
//! as advisory locks, and news of writes through `LISTEN`/`NOTIFY`.
//!
//! A node holds its claims on one connection of its own: PostgreSQL ends a session's advisory
//! locks when the session ends, so the claims of a node that dies are released with it.

use std::sync::Mutex;
use std::time::Duration;

use postgres::fallible_iterator::FallibleIterator;

use super::PgStorage;
use crate::accounts::Failures;
use crate::storage::{Heard, NodeLink, StorageResult};

/// The channel each write's news is sent on.
pub(super) const CHANNEL: &str = "fieldsync_news";

/// A node's link to the others: the connection holding its claims.
pub struct NodeLocks {
    config: postgres::Config,
    conn: Mutex<Option<postgres::Client>>,
}

impl NodeLocks {
    pub(super) fn new(config: postgres::Config) -> NodeLocks {
        NodeLocks {
            config,
            conn: Mutex::new(None),
        }
    }

    /// Runs `f` on the claims connection, connecting first if there is none. A connection
    /// that failed is dropped (and with it every claim it held: they were released by the
    /// database when it went).
    fn on_conn<T>(
        &self,
        f: impl Fn(&mut postgres::Client) -> Result<T, postgres::Error>,
    ) -> StorageResult<T> {
        let mut conn = self
            .conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // A blocking client learns that its connection broke (the database restarted) only when
        // a query fails: then once more on a new connection.
        let mut tries = 0;
        loop {
            tries += 1;
            let client = match conn.as_mut() {
                Some(c) if !c.is_closed() => c,
                _ => conn.insert(self.config.connect(postgres::NoTls)?),
            };
            match f(client) {
                Ok(out) => return Ok(out),
                Err(e) => {
                    // Only a broken connection is dropped: dropping a sound one would end the
                    // claims it holds for pushes still at work.
                    if !e.is_closed() || tries > 1 {
                        if e.is_closed() {
                            *conn = None;
                        }
                        return Err(e.into());
                    }
                    *conn = None;
                }
            }
        }
    }
}

impl NodeLink for PgStorage {
    fn node(&self) -> &str {
        &self.node
    }

    fn try_claim(&self, key: &str) -> StorageResult<bool> {
        self.locks.on_conn(|c| {
            c.query_one(
                "SELECT pg_try_advisory_lock(hashtextextended($1, 0))",
                &[&key],
            )
            .map(|r| r.get(0))
        })
    }

    fn try_claim_all(&self, keys: &[&str]) -> StorageResult<Vec<bool>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        self.locks.on_conn(|c| {
            c.query(
                "SELECT pg_try_advisory_lock(hashtextextended(k, 0))
                 FROM unnest($1::text[]) WITH ORDINALITY AS u(k, n) ORDER BY n",
                &[&keys],
            )
            .map(|rows| rows.iter().map(|r| r.get(0)).collect())
        })
    }

    fn release(&self, keys: &[&str]) {
        if keys.is_empty() {
            return;
        }
        let released = self.locks.on_conn(|c| {
            c.execute(
                "SELECT pg_advisory_unlock(hashtextextended(k, 0)) FROM unnest($1::text[]) AS k",
                &[&keys],
            )
        });
        if let Err(e) = released {
            tracing::warn!(
                ?keys,
                "releasing claims failed (they went with their connection): {e}"
            );
        }
    }

    fn update_login_failures(
        &self,
        keys: &[String],
        forget_before: i64,
        step: &mut dyn FnMut(&mut [Option<Failures>]),
    ) -> StorageResult<()> {
        self.write(|tx| {
            tx.execute(
                "DELETE FROM login_failures WHERE last_ms < $1",
                &[&forget_before],
            )?;
            // A row for every key, made if missing, locked until the end and read in one
            // statement: concurrent attempts take turns.
            let mut records = Vec::with_capacity(keys.len());
            for key in keys {
                let row = tx.query_one(
                    "INSERT INTO login_failures(key, count, last_ms) VALUES ($1, 0, 0)
                     ON CONFLICT (key) DO UPDATE SET key = excluded.key
                     RETURNING count, last_ms",
                    &[key],
                )?;
                let (count, last_ms): (i32, i64) = (row.try_get(0)?, row.try_get(1)?);
                records.push((count > 0).then_some(Failures {
                    count: count as u32,
                    last_ms,
                }));
            }
            step(&mut records);
            for (key, record) in keys.iter().zip(records) {
                match record {
                    Some(f) => tx.execute(
                        "UPDATE login_failures SET count = $2, last_ms = $3 WHERE key = $1",
                        &[key, &(f.count.min(i32::MAX as u32) as i32), &f.last_ms],
                    )?,
                    None => tx.execute("DELETE FROM login_failures WHERE key = $1", &[key])?,
                };
            }
            Ok(())
        })
    }

    fn listen(&self, mut hear: Box<dyn FnMut(Heard) -> bool + Send>) -> StorageResult<()> {
        let config = self.config.clone();
        // The first connection is made here, so a database that cannot be reached is an error
        // at start-up rather than a silent thread.
        let mut client = listening(&config)?;
        std::thread::Builder::new()
            .name("fieldsync-listen".into())
            .spawn(move || {
                loop {
                    match hear_until_lost(&mut client, &mut hear) {
                        Ok(()) => return,
                        Err(e) => tracing::warn!("lost the connection that hears other nodes: {e}"),
                    }
                    // Try again at once, then every 100 ms, up to every second.
                    let mut pause = Duration::ZERO;
                    client = loop {
                        std::thread::sleep(pause);
                        match listening(&config) {
                            Ok(c) => break c,
                            Err(e) => {
                                tracing::debug!("cannot listen for other nodes' news yet: {e}");
                                pause = (pause * 2)
                                    .clamp(Duration::from_millis(100), Duration::from_secs(1));
                            }
                        }
                    };
                    if !hear(Heard::Reconnected) {
                        return;
                    }
                }
            })
            .map_err(|e| {
                crate::storage::StorageError::Backend(format!("cannot start a thread: {e}"))
            })?;
        Ok(())
    }
}

/// Passes what `client` hears to `hear` until `hear` returns false (`Ok`) or the connection
/// fails.
fn hear_until_lost(
    client: &mut postgres::Client,
    hear: &mut Box<dyn FnMut(Heard) -> bool + Send>,
) -> Result<(), postgres::Error> {
    loop {
        {
            let mut notes = client.notifications();
            let mut heard = notes.timeout_iter(Duration::from_secs(1));
            while let Some(note) = heard.next()? {
                if !hear(Heard::News(note.payload().to_string())) {
                    return Ok(());
                }
            }
        }
        // A quiet second: make sure the connection still works (a cut-off one errs here,
        // within the connection's time limits) and whoever listens is still there.
        client.simple_query("")?;
        if !hear(Heard::Quiet) {
            return Ok(());
        }
    }
}

fn listening(config: &postgres::Config) -> StorageResult<postgres::Client> {
    let mut client = config.connect(postgres::NoTls)?;
    client.batch_execute(&format!("LISTEN {CHANNEL}"))?;
    Ok(client)
}
