//! `wa-host groups …`: the groups a tenant's number owns, through the component's
//! `groups` interface. Messages to a group go through `wa-host send --to group:{id}`.

use super::{instance, print};
use crate::{BoxError, Cli};
use clap::Subcommand;
use serde_json::json;

#[derive(Subcommand)]
pub enum GroupsCommand {
    /// Create a group; prints Meta's request id (the group's id and invite link arrive
    /// in a `group` event carrying it).
    Create {
        #[arg(long)]
        tenant: String,
        /// The number that owns it (the tenant's default one otherwise).
        #[arg(long)]
        from: Option<String>,
        #[arg(long)]
        subject: String,
        #[arg(long)]
        description: Option<String>,
        /// Joining takes the business's approval.
        #[arg(long)]
        approval_required: bool,
    },
    /// The number's active groups, one JSON line each.
    List {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        from: Option<String>,
    },
    /// One group, with its participants.
    Get {
        #[arg(long)]
        tenant: String,
        id: String,
    },
    /// Change a group's subject or description.
    Update {
        #[arg(long)]
        tenant: String,
        id: String,
        #[arg(long)]
        subject: Option<String>,
        #[arg(long)]
        description: Option<String>,
    },
    /// Delete a group.
    Delete {
        #[arg(long)]
        tenant: String,
        id: String,
    },
    /// The group's invite link (--reset for a new one; the old one stops working).
    InviteLink {
        #[arg(long)]
        tenant: String,
        id: String,
        #[arg(long)]
        reset: bool,
    },
    /// Remove 1 to 8 participants (numbers, wa_ids or business-scoped user ids).
    Remove {
        #[arg(long)]
        tenant: String,
        id: String,
        #[arg(required = true)]
        users: Vec<String>,
    },
    /// Open join requests, one JSON line each.
    JoinRequests {
        #[arg(long)]
        tenant: String,
        id: String,
    },
    /// Approve join requests by id; one JSON line per request.
    Approve {
        #[arg(long)]
        tenant: String,
        id: String,
        #[arg(required = true)]
        requests: Vec<String>,
    },
    /// Reject join requests by id; one JSON line per request.
    Reject {
        #[arg(long)]
        tenant: String,
        id: String,
        #[arg(required = true)]
        requests: Vec<String>,
    },
}

/// Run a page-by-page listing to its end, printing each item.
macro_rules! pages {
    ($after:ident => $call:expr, $items:ident, $json:expr) => {{
        let mut $after: Option<String> = None;
        loop {
            let page = match $call.await.map_err(|e| e.to_string())? {
                Ok(p) => p,
                Err(e) => return super::fail(&e),
            };
            for item in &page.$items {
                super::out($json(item))?;
            }
            match page.next {
                Some(n) if !page.$items.is_empty() => $after = Some(n),
                _ => return Ok(()),
            }
        }
    }};
}

pub async fn run(cli: &Cli, command: &GroupsCommand) -> Result<(), BoxError> {
    use GroupsCommand as G;
    match command {
        G::Create {
            tenant,
            from,
            subject,
            description,
            approval_required,
        } => {
            let (_runtime, mut i) = instance(cli, tenant).await?;
            let r = i
                .create_group(
                    from.as_deref(),
                    subject,
                    description.as_deref(),
                    *approval_required,
                )
                .await;
            print(r, |id| json!({ "request_id": id }))
        }
        G::List { tenant, from } => {
            let (_runtime, mut i) = instance(cli, tenant).await?;
            pages!(
                after => i.list_groups(from.as_deref(), after.as_deref()),
                groups,
                |g: &whatsapp_host::api::groups::GroupSummary| json!({ "id": g.id, "subject": g.subject, "created_at": g.created_at })
            )
        }
        G::Get { tenant, id } => {
            let (_runtime, mut i) = instance(cli, tenant).await?;
            print(i.get_group(id).await, |g| {
                json!({ "id": g.id, "subject": g.subject, "description": g.description,
                    "approval_required": g.approval_required, "suspended": g.suspended,
                    "created_at": g.created_at, "participants": g.participants,
                    "participant_count": g.participant_count })
            })
        }
        G::Update {
            tenant,
            id,
            subject,
            description,
        } => {
            let (_runtime, mut i) = instance(cli, tenant).await?;
            let r = i
                .update_group(id, subject.as_deref(), description.as_deref())
                .await;
            print(r, |rid| json!({ "updated": id, "request_id": rid }))
        }
        G::Delete { tenant, id } => {
            let (_runtime, mut i) = instance(cli, tenant).await?;
            print(i.delete_group(id).await, |()| json!({ "deleted": id }))
        }
        G::InviteLink { tenant, id, reset } => {
            let (_runtime, mut i) = instance(cli, tenant).await?;
            print(
                i.group_invite_link(id, *reset).await,
                |link| json!({ "group_id": id, "invite_link": link }),
            )
        }
        G::Remove { tenant, id, users } => {
            let (_runtime, mut i) = instance(cli, tenant).await?;
            print(
                i.remove_group_participants(id, users).await,
                |rid| json!({ "group_id": id, "removing": users, "request_id": rid }),
            )
        }
        G::JoinRequests { tenant, id } => {
            let (_runtime, mut i) = instance(cli, tenant).await?;
            pages!(
                after => i.group_join_requests(id, after.as_deref()),
                requests,
                |r: &whatsapp_host::api::groups::JoinRequest| json!({ "id": r.id, "user": r.user, "created_at": r.created_at })
            )
        }
        G::Approve {
            tenant,
            id,
            requests,
        }
        | G::Reject {
            tenant,
            id,
            requests,
        } => {
            let approve = matches!(command, G::Approve { .. });
            let (_runtime, mut i) = instance(cli, tenant).await?;
            let outcomes = match i
                .answer_group_join_requests(id, requests, approve)
                .await
                .map_err(|e| e.to_string())?
            {
                Ok(o) => o,
                Err(e) => return super::fail(&e),
            };
            for o in outcomes {
                let error = o
                    .error
                    .map(|e| json!({ "code": e.code, "message": e.message, "details": e.details }));
                super::out(json!({ "id": o.id, "approved": approve && error.is_none(),
                    "rejected": !approve && error.is_none(), "error": error }))?;
            }
            Ok(())
        }
    }
}
