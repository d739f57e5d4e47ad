//! The outbox on PostgreSQL, shared by every dispatching host: a claim skips the rows
//! another host's claim has locked (`FOR UPDATE SKIP LOCKED`), so two hosts never claim
//! one entry, and neither waits for the other.

use super::{Postgres, Step};
use crate::Result;
use crate::outbox::{Doubts, Entry, Hold, NewEntry, News, OutboxBackend, Outcome, Tally, state};
use std::sync::Arc;
use tokio_postgres::Row;

/// Migration 5: the outbox and its holds (written to be applied again harmlessly, as
/// migration 3 is).
pub(super) const SCHEMA: &str = r#"CREATE TABLE IF NOT EXISTS outbox (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant TEXT COLLATE "C" NOT NULL,
    idem_key TEXT COLLATE "C",
    campaign TEXT COLLATE "C",
    number TEXT COLLATE "C" NOT NULL,
    recipient TEXT NOT NULL,
    priority INT NOT NULL,
    item TEXT NOT NULL,
    state INT NOT NULL DEFAULT 0,
    attempts INT NOT NULL DEFAULT 0,
    wamid TEXT,
    code TEXT,
    reason TEXT,
    not_before_ms BIGINT NOT NULL,
    claimed_by TEXT,
    claimed_ms BIGINT,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS outbox_key ON outbox (tenant, idem_key) WHERE idem_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (number, priority, not_before_ms, id) WHERE state = 0;
CREATE INDEX IF NOT EXISTS outbox_campaign ON outbox (tenant, campaign, state) WHERE campaign IS NOT NULL;
CREATE INDEX IF NOT EXISTS outbox_claimed ON outbox (number, claimed_by) WHERE state = 1;
CREATE INDEX IF NOT EXISTS outbox_unknown ON outbox (number) WHERE state = 2;
CREATE TABLE IF NOT EXISTS outbox_holds (
    tenant TEXT COLLATE "C" NOT NULL,
    campaign TEXT COLLATE "C" NOT NULL,
    code TEXT NOT NULL,
    reason TEXT NOT NULL,
    at_ms BIGINT NOT NULL,
    PRIMARY KEY (tenant, campaign)
);"#;

/// Migration 6: replies counted per entry, and the reach of each scope (the messaging
/// limit's moving window). Written to be applied again harmlessly.
pub(super) const REACH: &str = r#"ALTER TABLE outbox ADD COLUMN IF NOT EXISTS replied_ms BIGINT;
CREATE INDEX IF NOT EXISTS outbox_recipient ON outbox (tenant, recipient, claimed_ms) WHERE campaign IS NOT NULL;
CREATE TABLE IF NOT EXISTS reach (
    scope TEXT COLLATE "C" NOT NULL,
    member TEXT COLLATE "C" NOT NULL,
    at_ms BIGINT NOT NULL,
    PRIMARY KEY (scope, member)
);
CREATE INDEX IF NOT EXISTS reach_at ON reach (scope, at_ms);"#;

/// The channel a host listens on for work another host made due (an enqueue, a hold
/// lifted), followed by `:` and a digest of the schema's name (a channel's name is at most
/// 63 bytes): databases shared by several deployments (one schema each) wake only their
/// own.
pub(super) const CHANNEL: &str = "wa_outbox";

/// Tell every listening host (delivered when the transaction commits).
const NOTIFY: &str = "SELECT pg_notify('wa_outbox:' || left(md5(current_schema()), 16), '')";

/// A reply counted for the campaign entry, sent or later, that reached the contact last.
const REPLY: &str = "UPDATE outbox SET replied_ms = $3 WHERE id = (
    SELECT id FROM outbox WHERE tenant = $1 AND campaign IS NOT NULL
        AND recipient = ANY($2) AND state BETWEEN 3 AND 5
    ORDER BY claimed_ms DESC NULLS LAST, id DESC LIMIT 1) AND replied_ms IS NULL";

const COLUMNS: &str = "id, tenant, idem_key, campaign, number, recipient, priority, item, state, attempts, wamid, code, reason, not_before_ms, created_ms, updated_ms";

/// Entries no hold keeps back (`o` is the entry).
const NOT_HELD: &str = "NOT EXISTS (SELECT 1 FROM outbox_holds h WHERE h.tenant = o.tenant AND (h.campaign = '' OR h.campaign = o.campaign))";

fn entry(r: &Row) -> std::result::Result<Entry, tokio_postgres::Error> {
    Ok(Entry {
        id: r.try_get(0)?,
        tenant: r.try_get(1)?,
        key: r.try_get(2)?,
        campaign: r.try_get(3)?,
        number: r.try_get(4)?,
        recipient: r.try_get(5)?,
        priority: r.try_get::<_, i32>(6)? as u8,
        item: r.try_get(7)?,
        state: r.try_get::<_, i32>(8)? as u8,
        attempts: r.try_get::<_, i32>(9)? as u32,
        wamid: r.try_get(10)?,
        code: r.try_get(11)?,
        reason: r.try_get(12)?,
        not_before_ms: r.try_get(13)?,
        created_ms: r.try_get(14)?,
        updated_ms: r.try_get(15)?,
    })
}

fn entries(rows: &[Row]) -> Step<Vec<Entry>> {
    Ok(rows
        .iter()
        .map(entry)
        .collect::<std::result::Result<_, _>>()?)
}

/// Move `tenant`'s entries on by status news, in `tx`, never back; how many moved.
pub(super) async fn advance(
    tx: &deadpool_postgres::Transaction<'_>,
    tenant: &str,
    news: &[News],
    now_ms: i64,
) -> Step<u64> {
    let mut moved = 0;
    for n in news {
        moved += match n {
            News::Status(p) => {
                let stmt = tx
                    .prepare_cached(
                        "UPDATE outbox SET state = $3, wamid = COALESCE(wamid, $4), code = COALESCE($5, code),
                            reason = COALESCE($6, reason), updated_ms = $7
                         WHERE tenant = $1 AND id = $2 AND state < $3 AND state <> 7",
                    )
                    .await?;
                tx.execute(
                    &stmt,
                    &[
                        &tenant,
                        &p.id,
                        &i32::from(p.state),
                        &p.wamid,
                        &p.code,
                        &p.reason,
                        &now_ms,
                    ],
                )
                .await?
            }
            News::Reply(contacts) => {
                let stmt = tx.prepare_cached(REPLY).await?;
                tx.execute(&stmt, &[&tenant, contacts, &now_ms]).await?
            }
        };
    }
    Ok(moved)
}

impl OutboxBackend for Postgres {
    fn outbox_put(
        &self,
        tenant: &str,
        entries: &[NewEntry],
        now_ms: i64,
    ) -> Result<Vec<(i64, bool)>> {
        let tenant = tenant.to_string();
        let entries = Arc::new(entries.to_vec());
        self.write(move |pool| {
            let (tenant, entries) = (tenant.clone(), entries.clone());
            async move {
                let mut c = pool.get().await?;
                let tx = c.transaction().await?;
                let insert = tx
                    .prepare_cached(
                        "INSERT INTO outbox (tenant, idem_key, campaign, number, recipient, priority, item, not_before_ms, created_ms, updated_ms)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) ON CONFLICT DO NOTHING RETURNING id",
                    )
                    .await?;
                let existing = tx
                    .prepare_cached("SELECT id FROM outbox WHERE tenant = $1 AND idem_key = $2")
                    .await?;
                let mut out = Vec::with_capacity(entries.len());
                for e in entries.iter() {
                    let priority = i32::from(e.priority);
                    let row = tx
                        .query_opt(
                            &insert,
                            &[
                                &tenant,
                                &e.key,
                                &e.campaign,
                                &e.number,
                                &e.recipient,
                                &priority,
                                &e.item,
                                &e.not_before_ms,
                                &now_ms,
                            ],
                        )
                        .await?;
                    match row {
                        Some(r) => out.push((r.try_get(0)?, true)),
                        None => {
                            let r = tx.query_one(&existing, &[&tenant, &e.key]).await?;
                            out.push((r.try_get(0)?, false));
                        }
                    }
                }
                // Every listening host wakes when this commits (`outbox_listen`).
                tx.execute(NOTIFY, &[]).await?;
                tx.commit().await?;
                Ok(out)
            }
        })
    }

    fn outbox_entry(&self, tenant: &str, id: i64) -> Result<Option<Entry>> {
        let tenant = tenant.to_string();
        self.read(move |pool| {
            let tenant = tenant.clone();
            async move {
                let c = pool.get().await?;
                let row = c
                    .query_opt(
                        &format!("SELECT {COLUMNS} FROM outbox WHERE tenant = $1 AND id = $2"),
                        &[&tenant, &id],
                    )
                    .await?;
                Ok(row.as_ref().map(entry).transpose()?)
            }
        })
    }

    fn outbox_cancel(&self, tenant: &str, id: i64, now_ms: i64) -> Result<bool> {
        let tenant = tenant.to_string();
        self.write(move |pool| {
            let tenant = tenant.clone();
            async move {
                let n = pool
                    .get()
                    .await?
                    .execute(
                        "UPDATE outbox SET state = $4, updated_ms = $3 WHERE tenant = $1 AND id = $2 AND state = 0",
                        &[&tenant, &id, &now_ms, &i32::from(state::CANCELLED)],
                    )
                    .await?;
                Ok(n == 1)
            }
        })
    }

    fn outbox_cancel_campaign(&self, tenant: &str, campaign: &str, now_ms: i64) -> Result<u64> {
        let (tenant, campaign) = (tenant.to_string(), campaign.to_string());
        self.write(move |pool| {
            let (tenant, campaign) = (tenant.clone(), campaign.clone());
            async move {
                Ok(pool
                    .get()
                    .await?
                    .execute(
                        "UPDATE outbox SET state = $4, updated_ms = $3 WHERE tenant = $1 AND campaign = $2 AND state = 0",
                        &[&tenant, &campaign, &now_ms, &i32::from(state::CANCELLED)],
                    )
                    .await?)
            }
        })
    }

    fn outbox_due_numbers(&self, now_ms: i64, limit: u32) -> Result<Vec<String>> {
        let limit = i64::from(limit);
        self.read(move |pool| async move {
            let rows = pool
                .get()
                .await?
                .query(
                    &format!(
                        "SELECT number FROM outbox o WHERE state = 0 AND not_before_ms <= $1 AND {NOT_HELD}
             UNION SELECT number FROM outbox WHERE state = 2 AND wamid IS NULL AND COALESCE(code, '') <> 'unconfirmed' LIMIT $2"
                    ),
                    &[&now_ms, &limit],
                )
                .await?;
            Ok(rows
                .iter()
                .map(|r| r.try_get(0))
                .collect::<std::result::Result<_, _>>()?)
        })
    }

    fn outbox_claim(
        &self,
        number: &str,
        holder: &str,
        now_ms: i64,
        limit: u32,
    ) -> Result<Vec<Entry>> {
        let (number, holder) = (number.to_string(), holder.to_string());
        let limit = i64::from(limit);
        self.write(move |pool| {
            let (number, holder) = (number.clone(), holder.clone());
            async move {
                let c = pool.get().await?;
                let claim = c
                    .prepare_cached(&format!(
                        "UPDATE outbox SET state = 1, claimed_by = $2, claimed_ms = $3, attempts = attempts + 1, updated_ms = $3
                         WHERE id IN (SELECT id FROM outbox o WHERE number = $1 AND state = 0 AND not_before_ms <= $3 AND {NOT_HELD}
                                      ORDER BY priority, not_before_ms, id LIMIT $4 FOR UPDATE SKIP LOCKED)
                         RETURNING {COLUMNS}"
                    ))
                    .await?;
                let rows = c.query(&claim, &[&number, &holder, &now_ms, &limit]).await?;
                let mut out = entries(&rows)?;
                out.sort_by_key(|e| (e.priority, e.not_before_ms, e.id));
                Ok(out)
            }
        })
    }

    fn outbox_settle(
        &self,
        holder: &str,
        outcomes: &[(i64, Outcome)],
        now_ms: i64,
    ) -> Result<Vec<bool>> {
        let holder = holder.to_string();
        let outcomes = Arc::new(outcomes.to_vec());
        self.write(move |pool| {
            let (holder, outcomes) = (holder.clone(), outcomes.clone());
            async move {
                let mut c = pool.get().await?;
                let tx = c.transaction().await?;
                // A status may have moved a sent entry on already: GREATEST keeps it there.
                let sent = tx
                    .prepare_cached(
                        "UPDATE outbox SET state = GREATEST(state, 3), wamid = $3, code = NULL, reason = NULL, claimed_by = NULL, updated_ms = $4
                         WHERE id = $1 AND claimed_by = $2",
                    )
                    .await?;
                let other = tx
                    .prepare_cached(
                        "UPDATE outbox SET state = $3, not_before_ms = GREATEST(not_before_ms, $4), code = $5, reason = $6, claimed_by = NULL, updated_ms = $7
                         WHERE id = $1 AND claimed_by = $2 AND state = 1",
                    )
                    .await?;
                let mut out = Vec::with_capacity(outcomes.len());
                for (id, o) in outcomes.iter() {
                    let (s, at, code, reason) = match o {
                        Outcome::Sent { wamid } => {
                            let n = tx.execute(&sent, &[id, &holder, wamid, &now_ms]).await?;
                            out.push(n == 1);
                            continue;
                        }
                        Outcome::Wait {
                            not_before_ms,
                            code,
                            reason,
                        } => (state::QUEUED, *not_before_ms, code, reason),
                        Outcome::Failed { code, reason } => (state::FAILED, 0, code, reason),
                        Outcome::Unknown { code, reason } => (state::UNKNOWN, 0, code, reason),
                    };
                    let n = tx
                        .execute(
                            &other,
                            &[id, &holder, &i32::from(s), &at, code, reason, &now_ms],
                        )
                        .await?;
                    out.push(n == 1);
                }
                tx.commit().await?;
                Ok(out)
            }
        })
    }

    fn outbox_unclaim(&self, holder: &str, ids: &[i64], now_ms: i64) -> Result<()> {
        let holder = holder.to_string();
        let ids = ids.to_vec();
        self.write(move |pool| {
            let (holder, ids) = (holder.clone(), ids.clone());
            async move {
                pool.get()
                    .await?
                    .execute(
                        "UPDATE outbox SET state = 0, claimed_by = NULL, attempts = attempts - 1, updated_ms = $3
                         WHERE id = ANY($1) AND claimed_by = $2 AND state = 1",
                        &[&ids, &holder, &now_ms],
                    )
                    .await?;
                Ok(())
            }
        })
    }

    fn outbox_progress(&self, tenant: &str, news: &[News], now_ms: i64) -> Result<u64> {
        let tenant = tenant.to_string();
        let news = Arc::new(news.to_vec());
        self.write(move |pool| {
            let (tenant, news) = (tenant.clone(), news.clone());
            async move {
                let mut c = pool.get().await?;
                let tx = c.transaction().await?;
                let moved = advance(&tx, &tenant, &news, now_ms).await?;
                tx.commit().await?;
                Ok(moved)
            }
        })
    }

    fn outbox_recover(&self, alive: &[String], now_ms: i64) -> Result<u64> {
        let alive = alive.to_vec();
        self.write(move |pool| {
            let alive = alive.clone();
            async move {
                Ok(pool
                    .get()
                    .await?
                    .execute(
                        "UPDATE outbox SET state = 2, claimed_by = NULL, code = 'interrupted',
                            reason = 'its host stopped while sending it; a status webhook settles it', updated_ms = $2
                         WHERE state = 1 AND NOT (claimed_by = ANY($1))",
                        &[&alive, &now_ms],
                    )
                    .await?)
            }
        })
    }

    fn outbox_doubts(&self, number: &str, holder: &str) -> Result<Doubts> {
        let (number, holder) = (number.to_string(), holder.to_string());
        self.read(move |pool| {
            let (number, holder) = (number.clone(), holder.clone());
            async move {
                let c = pool.get().await?;
                let others: i64 = c
                    .query_one(
                        "SELECT COUNT(*) FROM outbox WHERE number = $1 AND state = 1 AND claimed_by <> $2",
                        &[&number, &holder],
                    )
                    .await?
                    .try_get(0)?;
                let rows = c
                    .query(
                        "SELECT id, tenant, COALESCE(claimed_ms, updated_ms) FROM outbox
                         WHERE number = $1 AND state = 2 AND wamid IS NULL AND COALESCE(code, '') <> 'unconfirmed' ORDER BY id",
                        &[&number],
                    )
                    .await?;
                let unknown = rows
                    .iter()
                    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
                    .collect::<std::result::Result<_, tokio_postgres::Error>>()?;
                Ok(Doubts {
                    others_sending: others as u64,
                    unknown,
                })
            }
        })
    }

    fn outbox_requeue(&self, ids: &[i64], now_ms: i64) -> Result<u64> {
        let ids = ids.to_vec();
        self.write(move |pool| {
            let ids = ids.clone();
            async move {
                Ok(pool
                    .get()
                    .await?
                    .execute(
                        "UPDATE outbox SET state = 0, claimed_by = NULL, code = 'requeued',
                            reason = 'Meta''s message history shows it was never accepted', updated_ms = $2
                         WHERE id = ANY($1) AND state = 2 AND wamid IS NULL",
                        &[&ids, &now_ms],
                    )
                    .await?)
            }
        })
    }

    fn outbox_unconfirmed(&self, ids: &[i64], now_ms: i64) -> Result<u64> {
        let ids = ids.to_vec();
        self.write(move |pool| {
            let ids = ids.clone();
            async move {
                Ok(pool
                    .get()
                    .await?
                    .execute(
                        "UPDATE outbox SET code = 'unconfirmed',
                            reason = 'no status named it, and Meta''s message history could not say in time whether it was accepted', updated_ms = $2
                         WHERE id = ANY($1) AND state = 2 AND wamid IS NULL",
                        &[&ids, &now_ms],
                    )
                    .await?)
            }
        })
    }

    fn outbox_hold(&self, tenant: &str, hold: &Hold) -> Result<()> {
        let tenant = tenant.to_string();
        let hold = hold.clone();
        self.write(move |pool| {
            let (tenant, hold) = (tenant.clone(), hold.clone());
            async move {
                pool.get()
                    .await?
                    .execute(
                        "INSERT INTO outbox_holds (tenant, campaign, code, reason, at_ms) VALUES ($1, $2, $3, $4, $5)
                         ON CONFLICT (tenant, campaign) DO UPDATE SET code = excluded.code, reason = excluded.reason, at_ms = excluded.at_ms",
                        &[
                            &tenant,
                            &hold.campaign.as_deref().unwrap_or(""),
                            &hold.code,
                            &hold.reason,
                            &hold.at_ms,
                        ],
                    )
                    .await?;
                Ok(())
            }
        })
    }

    fn outbox_release(&self, tenant: &str, campaign: Option<&str>) -> Result<bool> {
        let (tenant, campaign) = (tenant.to_string(), campaign.unwrap_or("").to_string());
        self.write(move |pool| {
            let (tenant, campaign) = (tenant.clone(), campaign.clone());
            async move {
                let c = pool.get().await?;
                let n = c
                    .execute(
                        "DELETE FROM outbox_holds WHERE tenant = $1 AND campaign = $2",
                        &[&tenant, &campaign],
                    )
                    .await?;
                if n == 1 {
                    c.execute(NOTIFY, &[]).await?;
                }
                Ok(n == 1)
            }
        })
    }

    fn outbox_holds(&self, tenant: &str) -> Result<Vec<Hold>> {
        let tenant = tenant.to_string();
        self.read(move |pool| {
            let tenant = tenant.clone();
            async move {
                let rows = pool
                    .get()
                    .await?
                    .query(
                        "SELECT campaign, code, reason, at_ms FROM outbox_holds WHERE tenant = $1 ORDER BY campaign",
                        &[&tenant],
                    )
                    .await?;
                Ok(rows
                    .iter()
                    .map(|r| {
                        let campaign: String = r.try_get(0)?;
                        Ok(Hold {
                            campaign: (!campaign.is_empty()).then_some(campaign),
                            code: r.try_get(1)?,
                            reason: r.try_get(2)?,
                            at_ms: r.try_get(3)?,
                        })
                    })
                    .collect::<std::result::Result<_, tokio_postgres::Error>>()?)
            }
        })
    }

    fn outbox_tally(&self, tenant: &str, campaign: &str) -> Result<Tally> {
        let (tenant, campaign) = (tenant.to_string(), campaign.to_string());
        self.read(move |pool| {
            let (tenant, campaign) = (tenant.clone(), campaign.clone());
            async move {
                let rows = pool
                    .get()
                    .await?
                    .query(
                        "SELECT state, COUNT(*), MIN(not_before_ms) FROM outbox WHERE tenant = $1 AND campaign = $2 GROUP BY state",
                        &[&tenant, &campaign],
                    )
                    .await?;
                let mut tally = Tally::default();
                for r in &rows {
                    let s: i32 = r.try_get(0)?;
                    let n: i64 = r.try_get(1)?;
                    if let Some(slot) = usize::try_from(s).ok().and_then(|s| tally.by_state.get_mut(s)) {
                        *slot = n as u64;
                    }
                    if s == i32::from(state::QUEUED) {
                        tally.next_ms = r.try_get(2)?;
                    }
                }
                let replied: i64 = pool
                    .get()
                    .await?
                    .query_one(
                        "SELECT COUNT(*) FROM outbox WHERE tenant = $1 AND campaign = $2 AND replied_ms IS NOT NULL",
                        &[&tenant, &campaign],
                    )
                    .await?
                    .try_get(0)?;
                tally.replied = replied as u64;
                Ok(tally)
            }
        })
    }

    fn outbox_listen(&self, wake: Arc<dyn Fn() + Send + Sync>) -> bool {
        self.listen(CHANNEL, wake);
        true
    }

    fn outbox_reach(
        &self,
        scope: &str,
        member: &str,
        limit: u32,
        window_ms: i64,
        now_ms: i64,
    ) -> Result<Option<i64>> {
        let (scope, member) = (scope.to_string(), member.to_string());
        self.write(move |pool| {
            let (scope, member) = (scope.clone(), member.clone());
            async move {
                let mut c = pool.get().await?;
                let tx = c.transaction().await?;
                // One reach at a time per scope, whichever host asks.
                tx.execute(
                    "SELECT pg_advisory_xact_lock(hashtextextended('reach:' || $1, 0))",
                    &[&scope],
                )
                .await?;
                tx.execute(
                    "DELETE FROM reach WHERE scope = $1 AND at_ms <= $2",
                    &[&scope, &now_ms.saturating_sub(window_ms)],
                )
                .await?;
                let again = tx
                    .execute(
                        "UPDATE reach SET at_ms = GREATEST(at_ms, $3) WHERE scope = $1 AND member = $2",
                        &[&scope, &member, &now_ms],
                    )
                    .await?;
                let answer = if again == 1 {
                    None
                } else {
                    let row = tx
                        .query_one(
                            "SELECT COUNT(*), MIN(at_ms) FROM reach WHERE scope = $1",
                            &[&scope],
                        )
                        .await?;
                    let (count, earliest): (i64, Option<i64>) = (row.try_get(0)?, row.try_get(1)?);
                    if count >= i64::from(limit) {
                        Some(earliest.unwrap_or(now_ms).saturating_add(window_ms))
                    } else {
                        tx.execute(
                            "INSERT INTO reach (scope, member, at_ms) VALUES ($1, $2, $3)",
                            &[&scope, &member, &now_ms],
                        )
                        .await?;
                        None
                    }
                };
                tx.commit().await?;
                Ok(answer)
            }
        })
    }
}
