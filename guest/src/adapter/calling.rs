//! `calling`: the WIT operations onto `core::calling`.

use super::Component;
use super::bindings::exports::whatsapp::cloud_api::calling as wit;
use super::bindings::whatsapp::cloud_api::types::Error;
use super::convert::err;
use super::tenant::Tenant;
use crate::core::calling as c;

type Result<T> = std::result::Result<T, Error>;

impl wit::Guest for Component {
    fn permission(phone_number_id: Option<String>, user: String) -> Result<wit::CallPermission> {
        let t = Tenant::on(phone_number_id)?;
        let (status, body) = t.call(&c::permission_request(&t.settings, &user).map_err(err)?)?;
        let p = c::read_permission(status, &body).map_err(err)?;
        Ok(wit::CallPermission {
            status: p.status,
            expires_at: p.expires_at,
            can_call: p.can_call,
            can_request: p.can_request,
        })
    }

    fn connect(
        phone_number_id: Option<String>,
        to: String,
        sdp_offer: String,
        callback_data: Option<String>,
    ) -> Result<String> {
        let t = Tenant::on(phone_number_id)?;
        let req = c::connect_request(&t.settings, &to, &sdp_offer, callback_data.as_deref())
            .map_err(err)?;
        let (status, body) = t.call(&req)?;
        c::read_call_id(status, &body).map_err(err)
    }

    fn respond(
        phone_number_id: Option<String>,
        call_id: String,
        action: wit::CallAction,
    ) -> Result<()> {
        let t = Tenant::on(phone_number_id)?;
        let action = match action {
            wit::CallAction::PreAccept(a) => c::Action::PreAccept(a),
            wit::CallAction::Accept(a) => c::Action::Accept(a),
            wit::CallAction::Reject => c::Action::Reject,
            wit::CallAction::Terminate => c::Action::Terminate,
        };
        let req = c::action_request(&t.settings, &call_id, &action).map_err(err)?;
        let (status, body) = t.call(&req)?;
        crate::core::messages::read_success(status, &body).map_err(err)
    }
}
