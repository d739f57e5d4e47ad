//! `groups`: the WIT operations onto `core::groups`.

use super::Component;
use super::bindings::exports::whatsapp::cloud_api::groups as wit;
use super::bindings::whatsapp::cloud_api::types::Error;
use super::convert::{err, graph_error};
use super::tenant::Tenant;
use crate::core::groups as g;

type Result<T> = std::result::Result<T, Error>;

/// The tenant, sending from `phone_number_id` when one is named (one of its own).
impl wit::Guest for Component {
    fn create(
        phone_number_id: Option<String>,
        subject: String,
        description: Option<String>,
        approval_required: bool,
    ) -> Result<String> {
        let tenant = Tenant::on(phone_number_id)?;
        let req = g::create_request(
            &tenant.settings,
            &subject,
            description.as_deref(),
            approval_required,
        )
        .map_err(err)?;
        let (status, body) = tenant.call(&req)?;
        g::read_request_id(status, &body).map_err(err)
    }

    fn list(phone_number_id: Option<String>, after: Option<String>) -> Result<wit::GroupPage> {
        let tenant = Tenant::on(phone_number_id)?;
        let req = g::list_request(&tenant.settings, after.as_deref()).map_err(err)?;
        let (status, body) = tenant.call(&req)?;
        let (groups, next) = g::read_list(status, &body).map_err(err)?;
        Ok(wit::GroupPage {
            groups: groups
                .into_iter()
                .map(|s| wit::GroupSummary {
                    id: s.id,
                    subject: s.subject,
                    created_at: s.created_at,
                })
                .collect(),
            next,
        })
    }

    fn get(group_id: String) -> Result<wit::GroupInfo> {
        let tenant = Tenant::bind();
        let req = g::info_request(&tenant.settings, &group_id).map_err(err)?;
        let (status, body) = tenant.call(&req)?;
        let i = g::read_info(status, &body).map_err(err)?;
        Ok(wit::GroupInfo {
            id: i.id,
            subject: i.subject,
            description: i.description,
            approval_required: i.approval_required,
            suspended: i.suspended,
            created_at: i.created_at,
            participants: i.participants,
            participant_count: i.participant_count,
        })
    }

    fn update(
        group_id: String,
        subject: Option<String>,
        description: Option<String>,
    ) -> Result<Option<String>> {
        let tenant = Tenant::bind();
        let req = g::update_request(
            &tenant.settings,
            &group_id,
            subject.as_deref(),
            description.as_deref(),
        )
        .map_err(err)?;
        let (status, body) = tenant.call(&req)?;
        g::read_accepted(status, &body).map_err(err)
    }

    fn delete(group_id: String) -> Result<()> {
        let tenant = Tenant::bind();
        let req = g::delete_request(&tenant.settings, &group_id).map_err(err)?;
        let (status, body) = tenant.call(&req)?;
        g::read_accepted(status, &body).map(drop).map_err(err)
    }

    fn invite_link(group_id: String, reset: bool) -> Result<String> {
        let tenant = Tenant::bind();
        let req = g::invite_link_request(&tenant.settings, &group_id, reset).map_err(err)?;
        let (status, body) = tenant.call(&req)?;
        g::read_invite_link(status, &body).map_err(err)
    }

    fn remove_participants(group_id: String, users: Vec<String>) -> Result<Option<String>> {
        let tenant = Tenant::bind();
        let req =
            g::remove_participants_request(&tenant.settings, &group_id, &users).map_err(err)?;
        let (status, body) = tenant.call(&req)?;
        g::read_accepted(status, &body).map_err(err)
    }

    fn join_requests(group_id: String, after: Option<String>) -> Result<wit::JoinRequestPage> {
        let tenant = Tenant::bind();
        let req =
            g::join_requests_request(&tenant.settings, &group_id, after.as_deref()).map_err(err)?;
        let (status, body) = tenant.call(&req)?;
        let (requests, next) = g::read_join_requests(status, &body).map_err(err)?;
        Ok(wit::JoinRequestPage {
            requests: requests
                .into_iter()
                .map(|r| wit::JoinRequest {
                    id: r.id,
                    user: r.user,
                    created_at: r.created_at,
                })
                .collect(),
            next,
        })
    }

    fn answer_join_requests(
        group_id: String,
        ids: Vec<String>,
        approve: bool,
    ) -> Result<Vec<wit::JoinOutcome>> {
        let tenant = Tenant::bind();
        let req = g::answer_join_requests_request(&tenant.settings, &group_id, &ids, approve)
            .map_err(err)?;
        let (status, body) = tenant.call(&req)?;
        Ok(g::read_join_answer(status, &body)
            .map_err(err)?
            .into_iter()
            .map(|o| wit::JoinOutcome {
                id: o.id,
                error: o.error.map(graph_error),
            })
            .collect())
    }
}
