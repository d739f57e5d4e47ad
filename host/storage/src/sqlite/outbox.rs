//! The outbox in the SQLite file: one host dispatches, so claims need no skipping.

use super::Sqlite;
use crate::Result;
use crate::outbox::{Doubts, Entry, Hold, NewEntry, News, OutboxBackend, Outcome, Tally, state};
use rusqlite::{OptionalExtension, params};

pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant TEXT NOT NULL,
    idem_key TEXT,
    campaign TEXT,
    number TEXT NOT NULL,
    recipient TEXT NOT NULL,
    priority INTEGER NOT NULL,
    item TEXT NOT NULL,
    state INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    wamid TEXT,
    code TEXT,
    reason TEXT,
    not_before_ms INTEGER NOT NULL,
    claimed_by TEXT,
    claimed_ms INTEGER,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS outbox_key ON outbox (tenant, idem_key) WHERE idem_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (number, priority, not_before_ms, id) WHERE state = 0;
CREATE INDEX IF NOT EXISTS outbox_campaign ON outbox (tenant, campaign, state) WHERE campaign IS NOT NULL;
CREATE INDEX IF NOT EXISTS outbox_claimed ON outbox (number, claimed_by) WHERE state = 1;
CREATE INDEX IF NOT EXISTS outbox_unknown ON outbox (number) WHERE state = 2;
CREATE TABLE IF NOT EXISTS outbox_holds (
    tenant TEXT NOT NULL,
    campaign TEXT NOT NULL,
    code TEXT NOT NULL,
    reason TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    PRIMARY KEY (tenant, campaign)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS reach (
    scope TEXT NOT NULL,
    member TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    PRIMARY KEY (scope, member)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS reach_at ON reach (scope, at_ms);
";

/// What a file made before replies were counted gains (see [`upgrade`]).
const REPLIES: &str = "
CREATE INDEX IF NOT EXISTS outbox_recipient ON outbox (tenant, recipient, claimed_ms) WHERE campaign IS NOT NULL;
";

/// Bring an outbox made by an earlier version up to this one's: the `replied_ms` column
/// and its index.
pub(super) fn upgrade(conn: &rusqlite::Connection) -> rusqlite::Result<()> {
    let has: bool = conn
        .prepare("SELECT 1 FROM pragma_table_info('outbox') WHERE name = 'replied_ms'")?
        .exists([])?;
    if !has {
        conn.execute_batch("ALTER TABLE outbox ADD COLUMN replied_ms INTEGER")?;
    }
    conn.execute_batch(REPLIES)
}

/// An unknown entry Meta never accepted, queued again.
const REQUEUE: &str = "UPDATE outbox SET state = 0, claimed_by = NULL, code = 'requeued',
    reason = 'Meta''s message history shows it was never accepted', updated_ms = ?2
    WHERE id = ?1 AND state = 2 AND wamid IS NULL";

/// An unknown entry nothing could settle, left for the platform.
const UNCONFIRMED: &str = "UPDATE outbox SET code = 'unconfirmed',
    reason = 'no status named it, and Meta''s message history could not say in time whether it was accepted', updated_ms = ?2
    WHERE id = ?1 AND state = 2 AND wamid IS NULL";

const COLUMNS: &str = "id, tenant, idem_key, campaign, number, recipient, priority, item, state, attempts, wamid, code, reason, not_before_ms, created_ms, updated_ms";

/// Entries no hold keeps back (`o` is the entry).
const NOT_HELD: &str = "NOT EXISTS (SELECT 1 FROM outbox_holds h WHERE h.tenant = o.tenant AND (h.campaign = '' OR h.campaign = o.campaign))";

fn entry(r: &rusqlite::Row<'_>) -> rusqlite::Result<Entry> {
    Ok(Entry {
        id: r.get(0)?,
        tenant: r.get(1)?,
        key: r.get(2)?,
        campaign: r.get(3)?,
        number: r.get(4)?,
        recipient: r.get(5)?,
        priority: r.get(6)?,
        item: r.get(7)?,
        state: r.get(8)?,
        attempts: r.get(9)?,
        wamid: r.get(10)?,
        code: r.get(11)?,
        reason: r.get(12)?,
        not_before_ms: r.get(13)?,
        created_ms: r.get(14)?,
        updated_ms: r.get(15)?,
    })
}

/// Move `tenant`'s entries on by status news, in `tx`, never back; how many moved.
pub(super) fn advance(
    tx: &rusqlite::Transaction<'_>,
    tenant: &str,
    news: &[News],
    now_ms: i64,
) -> rusqlite::Result<u64> {
    let mut moved = 0;
    for n in news {
        moved += match n {
            News::Status(p) => tx
                .prepare_cached(
                    "UPDATE outbox SET state = ?3, wamid = COALESCE(wamid, ?4), code = COALESCE(?5, code),
                        reason = COALESCE(?6, reason), updated_ms = ?7
                     WHERE tenant = ?1 AND id = ?2 AND state < ?3 AND state <> 7",
                )?
                .execute(params![
                    tenant, p.id, p.state, p.wamid, p.code, p.reason, now_ms
                ])?,
            News::Reply(contacts) => {
                let contacts = serde_json::to_string(contacts).unwrap_or_else(|_| "[]".into());
                tx.prepare_cached(REPLY)?
                    .execute(params![tenant, contacts, now_ms])?
            }
        } as u64;
    }
    Ok(moved)
}

/// A reply counted for the campaign entry, sent or later, that reached the contact last
/// (`?2`: its ids, as a JSON array).
const REPLY: &str = "UPDATE outbox SET replied_ms = ?3 WHERE id = (
    SELECT id FROM outbox WHERE tenant = ?1 AND campaign IS NOT NULL
        AND recipient IN (SELECT value FROM json_each(?2)) AND state BETWEEN 3 AND 5
    ORDER BY claimed_ms DESC, id DESC LIMIT 1) AND replied_ms IS NULL";

impl OutboxBackend for Sqlite {
    fn outbox_put(
        &self,
        tenant: &str,
        entries: &[NewEntry],
        now_ms: i64,
    ) -> Result<Vec<(i64, bool)>> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let mut out = Vec::with_capacity(entries.len());
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO outbox (tenant, idem_key, campaign, number, recipient, priority, item, not_before_ms, created_ms, updated_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9) ON CONFLICT DO NOTHING",
            )?;
            let mut existing =
                tx.prepare_cached("SELECT id FROM outbox WHERE tenant = ?1 AND idem_key = ?2")?;
            for e in entries {
                let n = insert.execute(params![
                    tenant,
                    e.key,
                    e.campaign,
                    e.number,
                    e.recipient,
                    e.priority,
                    e.item,
                    e.not_before_ms,
                    now_ms
                ])?;
                if n == 1 {
                    out.push((tx.last_insert_rowid(), true));
                } else {
                    let id = existing.query_row(params![tenant, e.key], |r| r.get(0))?;
                    out.push((id, false));
                }
            }
        }
        tx.commit()?;
        Ok(out)
    }

    fn outbox_entry(&self, tenant: &str, id: i64) -> Result<Option<Entry>> {
        Ok(self
            .read()
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM outbox WHERE tenant = ?1 AND id = ?2"
            ))?
            .query_row(params![tenant, id], entry)
            .optional()?)
    }

    fn outbox_cancel(&self, tenant: &str, id: i64, now_ms: i64) -> Result<bool> {
        let n = self.conn().execute(
            "UPDATE outbox SET state = ?4, updated_ms = ?3 WHERE tenant = ?1 AND id = ?2 AND state = 0",
            params![tenant, id, now_ms, state::CANCELLED],
        )?;
        Ok(n == 1)
    }

    fn outbox_cancel_campaign(&self, tenant: &str, campaign: &str, now_ms: i64) -> Result<u64> {
        let n = self.conn().execute(
            "UPDATE outbox SET state = ?4, updated_ms = ?3 WHERE tenant = ?1 AND campaign = ?2 AND state = 0",
            params![tenant, campaign, now_ms, state::CANCELLED],
        )?;
        Ok(n as u64)
    }

    fn outbox_due_numbers(&self, now_ms: i64, limit: u32) -> Result<Vec<String>> {
        let conn = self.read();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT number FROM outbox o WHERE state = 0 AND not_before_ms <= ?1 AND {NOT_HELD}
             UNION SELECT number FROM outbox WHERE state = 2 AND wamid IS NULL AND COALESCE(code, '') <> 'unconfirmed' LIMIT ?2"
        ))?;
        let rows = stmt.query_map(params![now_ms, limit], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn outbox_claim(
        &self,
        number: &str,
        holder: &str,
        now_ms: i64,
        limit: u32,
    ) -> Result<Vec<Entry>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&format!(
            "UPDATE outbox SET state = 1, claimed_by = ?2, claimed_ms = ?3, attempts = attempts + 1, updated_ms = ?3
             WHERE id IN (SELECT id FROM outbox o WHERE number = ?1 AND state = 0 AND not_before_ms <= ?3 AND {NOT_HELD}
                          ORDER BY priority, not_before_ms, id LIMIT ?4)
             RETURNING {COLUMNS}"
        ))?;
        let rows = stmt.query_map(params![number, holder, now_ms, limit], entry)?;
        let mut out: Vec<Entry> = rows.collect::<rusqlite::Result<_>>()?;
        out.sort_by_key(|e| (e.priority, e.not_before_ms, e.id));
        Ok(out)
    }

    fn outbox_settle(
        &self,
        holder: &str,
        outcomes: &[(i64, Outcome)],
        now_ms: i64,
    ) -> Result<Vec<bool>> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let mut out = Vec::with_capacity(outcomes.len());
        {
            // A status may have moved a sent entry on already: `max` keeps it there.
            let mut sent = tx.prepare_cached(
                "UPDATE outbox SET state = max(state, 3), wamid = ?3, code = NULL, reason = NULL, claimed_by = NULL, updated_ms = ?4
                 WHERE id = ?1 AND claimed_by = ?2",
            )?;
            let mut other = tx.prepare_cached(
                "UPDATE outbox SET state = ?3, not_before_ms = max(not_before_ms, ?4), code = ?5, reason = ?6, claimed_by = NULL, updated_ms = ?7
                 WHERE id = ?1 AND claimed_by = ?2 AND state = 1",
            )?;
            for (id, o) in outcomes {
                let n = match o {
                    Outcome::Sent { wamid } => sent.execute(params![id, holder, wamid, now_ms])?,
                    Outcome::Wait {
                        not_before_ms,
                        code,
                        reason,
                    } => other.execute(params![
                        id,
                        holder,
                        state::QUEUED,
                        not_before_ms,
                        code,
                        reason,
                        now_ms
                    ])?,
                    Outcome::Failed { code, reason } => other.execute(params![
                        id,
                        holder,
                        state::FAILED,
                        0,
                        code,
                        reason,
                        now_ms
                    ])?,
                    Outcome::Unknown { code, reason } => other.execute(params![
                        id,
                        holder,
                        state::UNKNOWN,
                        0,
                        code,
                        reason,
                        now_ms
                    ])?,
                };
                out.push(n == 1);
            }
        }
        tx.commit()?;
        Ok(out)
    }

    fn outbox_unclaim(&self, holder: &str, ids: &[i64], now_ms: i64) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        {
            let mut stmt = tx.prepare_cached(
                "UPDATE outbox SET state = 0, claimed_by = NULL, attempts = attempts - 1, updated_ms = ?3
                 WHERE id = ?1 AND claimed_by = ?2 AND state = 1",
            )?;
            for id in ids {
                stmt.execute(params![id, holder, now_ms])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn outbox_progress(&self, tenant: &str, news: &[News], now_ms: i64) -> Result<u64> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let moved = advance(&tx, tenant, news, now_ms)?;
        tx.commit()?;
        Ok(moved)
    }

    fn outbox_recover(&self, alive: &[String], now_ms: i64) -> Result<u64> {
        let alive = serde_json::to_string(alive).unwrap_or_else(|_| "[]".into());
        let n = self.conn().execute(
            "UPDATE outbox SET state = 2, claimed_by = NULL, code = 'interrupted',
                reason = 'its host stopped while sending it; a status webhook settles it', updated_ms = ?2
             WHERE state = 1 AND claimed_by NOT IN (SELECT value FROM json_each(?1))",
            params![alive, now_ms],
        )?;
        Ok(n as u64)
    }

    fn outbox_doubts(&self, number: &str, holder: &str) -> Result<Doubts> {
        let conn = self.read();
        let others_sending: i64 = conn
            .prepare_cached(
                "SELECT COUNT(*) FROM outbox WHERE number = ?1 AND state = 1 AND claimed_by <> ?2",
            )?
            .query_row(params![number, holder], |r| r.get(0))?;
        let mut stmt = conn.prepare_cached(
            "SELECT id, tenant, COALESCE(claimed_ms, updated_ms) FROM outbox
             WHERE number = ?1 AND state = 2 AND wamid IS NULL AND COALESCE(code, '') <> 'unconfirmed' ORDER BY id",
        )?;
        let unknown = stmt
            .query_map([number], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(Doubts {
            others_sending: others_sending as u64,
            unknown,
        })
    }

    fn outbox_requeue(&self, ids: &[i64], now_ms: i64) -> Result<u64> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let mut n = 0;
        {
            let mut stmt = tx.prepare_cached(REQUEUE)?;
            for id in ids {
                n += stmt.execute(params![id, now_ms])? as u64;
            }
        }
        tx.commit()?;
        Ok(n)
    }

    fn outbox_unconfirmed(&self, ids: &[i64], now_ms: i64) -> Result<u64> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let mut n = 0;
        {
            let mut stmt = tx.prepare_cached(UNCONFIRMED)?;
            for id in ids {
                n += stmt.execute(params![id, now_ms])? as u64;
            }
        }
        tx.commit()?;
        Ok(n)
    }

    fn outbox_hold(&self, tenant: &str, hold: &Hold) -> Result<()> {
        self.conn().execute(
            "INSERT INTO outbox_holds (tenant, campaign, code, reason, at_ms) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (tenant, campaign) DO UPDATE SET code = excluded.code, reason = excluded.reason, at_ms = excluded.at_ms",
            params![
                tenant,
                hold.campaign.as_deref().unwrap_or(""),
                hold.code,
                hold.reason,
                hold.at_ms
            ],
        )?;
        Ok(())
    }

    fn outbox_release(&self, tenant: &str, campaign: Option<&str>) -> Result<bool> {
        let n = self.conn().execute(
            "DELETE FROM outbox_holds WHERE tenant = ?1 AND campaign = ?2",
            params![tenant, campaign.unwrap_or("")],
        )?;
        Ok(n == 1)
    }

    fn outbox_holds(&self, tenant: &str) -> Result<Vec<Hold>> {
        let conn = self.read();
        let mut stmt = conn.prepare_cached(
            "SELECT campaign, code, reason, at_ms FROM outbox_holds WHERE tenant = ?1 ORDER BY campaign",
        )?;
        let rows = stmt.query_map([tenant], |r| {
            let campaign: String = r.get(0)?;
            Ok(Hold {
                campaign: (!campaign.is_empty()).then_some(campaign),
                code: r.get(1)?,
                reason: r.get(2)?,
                at_ms: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn outbox_tally(&self, tenant: &str, campaign: &str) -> Result<Tally> {
        let conn = self.read();
        let mut stmt = conn.prepare_cached(
            "SELECT state, COUNT(*), MIN(not_before_ms) FROM outbox WHERE tenant = ?1 AND campaign = ?2 GROUP BY state",
        )?;
        let mut tally = Tally::default();
        let rows = stmt.query_map(params![tenant, campaign], |r| {
            Ok((r.get::<_, u8>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
        })?;
        for row in rows {
            let (s, n, next) = row?;
            if let Some(slot) = tally.by_state.get_mut(usize::from(s)) {
                *slot = n as u64;
            }
            if s == state::QUEUED {
                tally.next_ms = Some(next);
            }
        }
        tally.replied = conn
            .prepare_cached(
                "SELECT COUNT(*) FROM outbox WHERE tenant = ?1 AND campaign = ?2 AND replied_ms IS NOT NULL",
            )?
            .query_row(params![tenant, campaign], |r| r.get::<_, i64>(0))? as u64;
        Ok(tally)
    }

    fn outbox_reach(
        &self,
        scope: &str,
        member: &str,
        limit: u32,
        window_ms: i64,
        now_ms: i64,
    ) -> Result<Option<i64>> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let since = now_ms.saturating_sub(window_ms);
        tx.prepare_cached("DELETE FROM reach WHERE scope = ?1 AND at_ms <= ?2")?
            .execute(params![scope, since])?;
        let again = tx
            .prepare_cached(
                "UPDATE reach SET at_ms = MAX(at_ms, ?3) WHERE scope = ?1 AND member = ?2",
            )?
            .execute(params![scope, member, now_ms])?;
        let answer = if again == 1 {
            None
        } else {
            let (count, earliest): (i64, Option<i64>) = tx
                .prepare_cached("SELECT COUNT(*), MIN(at_ms) FROM reach WHERE scope = ?1")?
                .query_row([scope], |r| Ok((r.get(0)?, r.get(1)?)))?;
            if count >= i64::from(limit) {
                Some(earliest.unwrap_or(now_ms).saturating_add(window_ms))
            } else {
                tx.prepare_cached("INSERT INTO reach (scope, member, at_ms) VALUES (?1, ?2, ?3)")?
                    .execute(params![scope, member, now_ms])?;
                None
            }
        };
        tx.commit()?;
        Ok(answer)
    }
}
