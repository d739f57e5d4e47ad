//! The events a webhook POST becomes: plain values mirroring the WIT `webhooks` types.

use crate::core::error::GraphError;

/// Where an event belongs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Routing {
    /// `entry[].id`: the WABA id.
    pub waba_id: String,
    /// `metadata.phone_number_id`.
    pub phone_number_id: Option<String>,
    /// `metadata.display_phone_number`.
    pub display_phone_number: Option<String>,
}

/// The other party.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Contact {
    /// `wa_id`.
    pub wa_id: Option<String>,
    /// `user_id` (BSUID).
    pub user_id: Option<String>,
    /// `profile.name`.
    pub name: Option<String>,
    /// `profile.username`.
    pub username: Option<String>,
    /// `parent_user_id` (parent BSUID).
    pub parent_user_id: Option<String>,
}

/// Reply and forward context.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MessageContext {
    /// `context.id`.
    pub message_id: Option<String>,
    /// `context.from`.
    pub from: Option<String>,
    /// `context.forwarded`.
    pub forwarded: bool,
    /// `context.frequently_forwarded`.
    pub frequently_forwarded: bool,
}

/// A media attachment (image, video, audio, document, sticker).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Media {
    /// The media id (download it through `media.get`).
    pub id: String,
    /// `mime_type`.
    pub mime_type: Option<String>,
    /// `sha256` as Meta gives it.
    pub sha256: Option<String>,
    /// `caption`.
    pub caption: Option<String>,
    /// `filename` (documents).
    pub filename: Option<String>,
    /// `url`, when Meta includes one.
    pub url: Option<String>,
    /// A voice note (audio recorded in WhatsApp).
    pub voice: bool,
    /// An animated sticker.
    pub animated: bool,
}

/// A shared location.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Location {
    /// Degrees.
    pub latitude: f64,
    /// Degrees.
    pub longitude: f64,
    /// `name`.
    pub name: Option<String>,
    /// `address`.
    pub address: Option<String>,
    /// `url`.
    pub url: Option<String>,
}

/// One shared contact card.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ContactCard {
    /// `name.formatted_name`.
    pub formatted_name: Option<String>,
    /// `phones[].phone`.
    pub phones: Vec<String>,
    /// `phones[].wa_id`.
    pub wa_ids: Vec<String>,
    /// `emails[].email`.
    pub emails: Vec<String>,
    /// The card's raw JSON (addresses, org, urls…).
    pub raw: String,
}

/// A reaction, or its removal (`emoji` none).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Reaction {
    /// The message reacted to.
    pub message_id: String,
    /// The emoji; none when the reaction was removed.
    pub emoji: Option<String>,
}

/// A chosen reply button or list row.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReplyChoice {
    /// The id the business gave the choice.
    pub id: String,
    /// Its title.
    pub title: String,
    /// A list row's description.
    pub description: Option<String>,
}

/// A completed WhatsApp Flow (`nfm_reply`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FlowReply {
    /// `name`.
    pub name: Option<String>,
    /// `body`.
    pub body: Option<String>,
    /// `response_json`, as sent (a JSON document in a string).
    pub response_json: String,
    /// `flow_token` from the response, when present.
    pub flow_token: Option<String>,
}

/// The answer to a call-permission request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CallPermissionReply {
    /// `accept` or `reject`.
    pub response: String,
    /// Until when calls are permitted.
    pub expiration_timestamp: Option<u64>,
    /// `response_source`.
    pub source: Option<String>,
}

/// A template's quick-reply button press.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QuickReply {
    /// The payload the template gave the button.
    pub payload: String,
    /// The button text.
    pub text: String,
}

/// One product of an order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OrderItem {
    /// `product_retailer_id`.
    pub product_retailer_id: String,
    /// `quantity`.
    pub quantity: u32,
    /// `item_price`.
    pub item_price: f64,
    /// `currency`.
    pub currency: String,
}

/// An order from a catalog.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Order {
    /// `catalog_id`.
    pub catalog_id: String,
    /// `text`.
    pub text: Option<String>,
    /// `product_items`.
    pub items: Vec<OrderItem>,
}

/// A system notice (number changed, identity changed).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SystemNotice {
    /// `system.type` (`user_changed_number`, `customer_identity_changed`).
    pub kind: String,
    /// `system.body`.
    pub body: String,
    /// The contact's new `wa_id`, for a number change.
    pub new_wa_id: Option<String>,
}

/// An edit of an earlier message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Edit {
    /// The message edited.
    pub original_message_id: String,
    /// The new message's `type`.
    pub message_type: String,
    /// The new text, for a text or a caption.
    pub text: Option<String>,
    /// The new message's raw JSON.
    pub raw: String,
}

/// Where a click-to-WhatsApp conversation came from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Referral {
    /// `source_url`.
    pub source_url: Option<String>,
    /// `source_id`.
    pub source_id: Option<String>,
    /// `source_type` (`ad`, `post`).
    pub source_type: Option<String>,
    /// `headline`.
    pub headline: Option<String>,
    /// `body`.
    pub body: Option<String>,
    /// `media_type`.
    pub media_type: Option<String>,
    /// `ctwa_clid`: the click id for conversion reporting.
    pub ctwa_clid: Option<String>,
}

/// What a message carries.
#[derive(Debug, Clone, PartialEq)]
pub enum MessageContent {
    /// text
    Text(String),
    /// image
    Image(Media),
    /// video
    Video(Media),
    /// audio and voice
    Audio(Media),
    /// document
    Document(Media),
    /// sticker
    Sticker(Media),
    /// location
    Location(Location),
    /// contacts
    Contacts(Vec<ContactCard>),
    /// reaction, or its removal
    Reaction(Reaction),
    /// interactive `button_reply`
    ButtonReply(ReplyChoice),
    /// interactive `list_reply`
    ListReply(ReplyChoice),
    /// interactive `nfm_reply`
    FlowReply(FlowReply),
    /// interactive `call_permission_reply`
    CallPermissionReply(CallPermissionReply),
    /// template quick-reply `button`
    QuickReply(QuickReply),
    /// order
    Order(Order),
    /// system
    System(SystemNotice),
    /// edit
    Edit(Edit),
    /// revoke (a delete): the original message id
    Revoke(String),
    /// `request_welcome`: the contact opened the chat for the first time (Meta's cue
    /// for a welcome message); it carries nothing else
    RequestWelcome,
    /// unsupported: `unsupported.type` when given
    Unsupported(Option<String>),
    /// anything else: the message's raw JSON
    Other(String),
}

/// An inbound message.
#[derive(Debug, Clone, PartialEq)]
pub struct InboundMessage {
    /// Its `wamid`.
    pub id: String,
    /// The sender.
    pub from: String,
    /// `from_user_id` (BSUID), when given.
    pub from_user_id: Option<String>,
    /// Meta's `type`.
    pub message_type: String,
    /// Context.
    pub context: Option<MessageContext>,
    /// Content.
    pub content: MessageContent,
    /// Click-to-WhatsApp referral.
    pub referral: Option<Referral>,
    /// `errors` Meta attached to the message.
    pub errors: Vec<GraphError>,
}

/// A message the business sent from the WhatsApp Business app (`smb_message_echoes`).
#[derive(Debug, Clone, PartialEq)]
pub struct MessageEcho {
    /// Its `wamid`.
    pub id: String,
    /// The business number.
    pub from: String,
    /// The recipient.
    pub to: String,
    /// `to_user_id`.
    pub to_user_id: Option<String>,
    /// Meta's `type`.
    pub message_type: String,
    /// Content.
    pub content: MessageContent,
}

/// Delivery status, in Meta's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DeliveryStatus {
    /// sent
    Sent,
    /// delivered
    Delivered,
    /// read
    Read,
    /// played
    Played,
    /// failed
    Failed,
    /// deleted
    Deleted,
}

impl DeliveryStatus {
    /// Meta's status string, if known.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "sent" => Self::Sent,
            "delivered" => Self::Delivered,
            "read" => Self::Read,
            "played" => Self::Played,
            "failed" => Self::Failed,
            "deleted" => Self::Deleted,
            _ => return None,
        })
    }

    /// The status as Meta spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sent => "sent",
            Self::Delivered => "delivered",
            Self::Read => "read",
            Self::Played => "played",
            Self::Failed => "failed",
            Self::Deleted => "deleted",
        }
    }
}

/// Conversation data of a status.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Conversation {
    /// id
    pub id: String,
    /// origin.type
    pub origin_type: Option<String>,
    /// expiration_timestamp
    pub expiration_timestamp: Option<u64>,
}

/// Pricing data of a status.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Pricing {
    /// billable
    pub billable: Option<bool>,
    /// pricing_model
    pub pricing_model: Option<String>,
    /// category
    pub category: Option<String>,
    /// type
    pub pricing_type: Option<String>,
}

/// A status update of a sent message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusUpdate {
    /// The message's `wamid`.
    pub message_id: String,
    /// `recipient_id`.
    pub recipient_id: Option<String>,
    /// The status.
    pub status: DeliveryStatus,
    /// The status as sent.
    pub raw_status: String,
    /// `errors`.
    pub errors: Vec<GraphError>,
    /// `conversation`.
    pub conversation: Option<Conversation>,
    /// `pricing`.
    pub pricing: Option<Pricing>,
    /// `biz_opaque_callback_data`.
    pub biz_opaque_callback_data: Option<String>,
}

/// Which property of a template changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemplateUpdateKind {
    /// `message_template_status_update`
    Status,
    /// `template_category_update`
    Category,
    /// `message_template_quality_update`
    Quality,
    /// `message_template_components_update`
    Components,
}

/// A template update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateUpdate {
    /// What changed.
    pub kind: TemplateUpdateKind,
    /// `message_template_id`.
    pub template_id: String,
    /// `message_template_name`.
    pub name: Option<String>,
    /// `message_template_language`.
    pub language: Option<String>,
    /// The new value: status event, new category, new quality score, or the element.
    pub value: Option<String>,
    /// The previous value (quality, category), when given.
    pub previous: Option<String>,
    /// `reason` (and `rejection_info.reason`), when given.
    pub reason: Option<String>,
    /// `message_template_category`, when given.
    pub category: Option<String>,
    /// The change's raw `value`.
    pub raw: String,
}

/// An `account_update`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountUpdate {
    /// `event` (`ACCOUNT_RESTRICTION`, `PARTNER_ADDED`, …).
    pub event: String,
    /// The change's raw `value`.
    pub raw: String,
}

/// An `account_alerts` change: something about the business or a number needs
/// attention (or no longer does).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountAlert {
    /// `entity_type`: `BUSINESS`, `PHONE_NUMBER`, …
    pub entity_type: String,
    /// `entity_id`: the business portfolio's or the number's id.
    pub entity_id: String,
    /// `alert_info.alert_type` (`OBA_APPROVED`, `PROFILE_PICTURE_LOST`, …).
    pub alert_type: String,
    /// `alert_info.alert_severity`: `CRITICAL`, `WARNING` or `INFORMATIONAL`.
    pub severity: Option<String>,
    /// `alert_info.alert_status`: `ACTIVE` or `NONE`.
    pub status: Option<String>,
    /// `alert_info.alert_description`.
    pub description: Option<String>,
}

/// A `business_capability_update`: the limits Meta now applies to the business.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BusinessCapability {
    /// The messaging limit: unique users a business portfolio may reach outside a
    /// customer-service window in a moving 24 hours, shared by all its numbers
    /// (`max_daily_conversations_per_business`, a number or a `TIER_*` name); -1 is
    /// unlimited.
    pub messaging_limit: Option<i64>,
    /// `max_daily_conversations_per_business` as Meta wrote it, when it was a tier name.
    pub messaging_limit_tier: Option<String>,
    /// `max_daily_conversation_per_phone`: the per-number limit Meta retires in 2026.
    pub per_phone_limit: Option<i64>,
    /// `max_phone_numbers_per_business`.
    pub max_phone_numbers_per_business: Option<u64>,
    /// `max_phone_numbers_per_waba`.
    pub max_phone_numbers_per_waba: Option<u64>,
}

/// A `security` change: a number's two-step verification PIN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityNotice {
    /// `event`: `PIN_CHANGED`, `PIN_RESET_REQUEST`, `PIN_REQUEST_SUCCESS`.
    pub event: String,
    /// `display_phone_number`.
    pub display_phone_number: Option<String>,
    /// `requester`: who asked for a PIN reset (a Meta Business Suite user id).
    pub requester: Option<String>,
}

/// One kind of error a `flows` alert counts.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowErrorCount {
    /// `error_type` (`TIMEOUT`, `INVALID_SCREEN_TRANSITION`, …).
    pub error_type: String,
    /// `error_rate`, in percent.
    pub error_rate: Option<f64>,
    /// `error_count`.
    pub error_count: Option<u64>,
}

/// A `flows` change: a flow's status, or an alert on its endpoint's health.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowUpdate {
    /// `event`: `FLOW_STATUS_CHANGE`, `ENDPOINT_ERROR_RATE`, `ENDPOINT_LATENCY`,
    /// `ENDPOINT_AVAILABILITY`, `CLIENT_ERROR_RATE`, `FLOW_VERSION_EXPIRY_WARNING`.
    pub event: String,
    /// `flow_id`.
    pub flow_id: String,
    /// `message`, for people.
    pub message: Option<String>,
    /// `old_status` (none when the flow was just created).
    pub old_status: Option<String>,
    /// `new_status`.
    pub new_status: Option<String>,
    /// `alert_state`: `ACTIVATED` or `DEACTIVATED`.
    pub alert_state: Option<String>,
    /// `threshold` the alert fired at.
    pub threshold: Option<f64>,
    /// `error_rate`, in percent.
    pub error_rate: Option<f64>,
    /// `p50_latency`, in milliseconds.
    pub p50_latency_ms: Option<u64>,
    /// `p90_latency`, in milliseconds.
    pub p90_latency_ms: Option<u64>,
    /// `requests_count`.
    pub requests_count: Option<u64>,
    /// `availability`, in percent.
    pub availability: Option<f64>,
    /// `errors`: the error rate by kind.
    pub errors: Vec<FlowErrorCount>,
}

/// A participant named by a group change.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GroupParticipant {
    /// `wa_id`.
    pub wa_id: Option<String>,
    /// `user_id`: the participant's business-scoped user id.
    pub user_id: Option<String>,
    /// `input`: the number or id the business gave when adding them.
    pub input: Option<String>,
}

/// A change to one of the business's groups (`group_lifecycle_update`,
/// `group_participants_update`, `group_settings_update`, `group_status_update`): one
/// event per item of the change's `groups`.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupUpdate {
    /// `type`: `group_create`, `group_delete`, `group_participants_add`,
    /// `group_participants_remove`, `group_join_request_created`,
    /// `group_join_request_revoked`, `group_settings_update`, `group_suspend`,
    /// `group_suspend_cleared`.
    pub update: String,
    /// `group_id`.
    pub group_id: String,
    /// `request_id`: the business's request this answers, when it answers one.
    pub request_id: Option<String>,
    /// `subject` (or `group_subject.text`).
    pub subject: Option<String>,
    /// `description` (or `group_description.text`).
    pub description: Option<String>,
    /// `invite_link`.
    pub invite_link: Option<String>,
    /// `join_approval_mode`.
    pub join_approval_mode: Option<String>,
    /// `reason` (`invite_link`, …).
    pub reason: Option<String>,
    /// `initiated_by`: `business` or `participant`.
    pub initiated_by: Option<String>,
    /// `join_request_id`.
    pub join_request_id: Option<String>,
    /// `added_participants`, or the participant of a join request.
    pub added: Vec<GroupParticipant>,
    /// `removed_participants`.
    pub removed: Vec<GroupParticipant>,
    /// `failed_participants`: their `input`.
    pub failed: Vec<String>,
    /// `errors`.
    pub errors: Vec<GraphError>,
    /// The group item's raw JSON.
    pub raw: String,
}

/// A past message of a chat, shared from the WhatsApp Business app (`history`).
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryMessage {
    /// The chat it belongs to: the contact's number (the thread's `id`).
    pub thread: String,
    /// `id`.
    pub id: String,
    /// `from`.
    pub from: String,
    /// `to`, on messages the business sent.
    pub to: Option<String>,
    /// `timestamp`.
    pub timestamp: Option<u64>,
    /// `type` (`media_placeholder` until the media's details follow).
    pub message_type: String,
    /// `history_context.status`: `DELIVERED`, `ERROR`, `PENDING`, `PLAYED`, `READ`,
    /// `SENT`.
    pub status: Option<String>,
    /// What it held.
    pub content: MessageContent,
}

/// One chunk of a chat history sync (`history`): Meta sends the business's past
/// conversations in phases and chunks, each with the sync's progress.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryChunk {
    /// `metadata.phase`: 0 (the last day), 1 (the last 90 days), 2 (the last 180 days).
    pub phase: Option<u64>,
    /// `metadata.chunk_order`.
    pub chunk_order: Option<u64>,
    /// `metadata.progress`, in percent.
    pub progress: Option<u64>,
    /// The chunk's messages, thread by thread.
    pub messages: Vec<HistoryMessage>,
    /// `errors`: for example 2593109, the business declined to share its history.
    pub errors: Vec<GraphError>,
}

/// A contact added, changed or removed in the WhatsApp Business app
/// (`smb_app_state_sync`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactSync {
    /// `action`: `add` (added or changed) or `remove`.
    pub action: String,
    /// `contact.phone_number`.
    pub phone_number: String,
    /// `contact.full_name` (none on a removal).
    pub full_name: Option<String>,
    /// `contact.first_name`.
    pub first_name: Option<String>,
}

/// Which property of a phone number changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhoneNumberUpdateKind {
    /// `phone_number_name_update`
    Name,
    /// `phone_number_quality_update`
    Quality,
}

/// A phone number update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneNumberUpdate {
    /// What changed.
    pub kind: PhoneNumberUpdateKind,
    /// `display_phone_number`.
    pub display_phone_number: Option<String>,
    /// `decision` (name) or `event` (quality).
    pub event: Option<String>,
    /// `requested_verified_name`.
    pub requested_verified_name: Option<String>,
    /// `current_limit` (messaging limit tier).
    pub current_limit: Option<String>,
    /// The change's raw `value`.
    pub raw: String,
}

/// A user's marketing-message preference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserPreference {
    /// The user's number, when Meta gives it.
    pub wa_id: Option<String>,
    /// The user's business-scoped user id (BSUID), when Meta gives it.
    pub user_id: Option<String>,
    /// `category` (`marketing_messages`).
    pub category: String,
    /// `value` (`stop`, `resume`, `signup`).
    pub value: String,
    /// `detail`.
    pub detail: Option<String>,
}

/// A call event (`calls` field).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallEvent {
    /// The call id (`wacid.`).
    pub id: String,
    /// `event` (`connect`, `terminate`), or `status` for a call status.
    pub event: String,
    /// `direction`.
    pub direction: Option<String>,
    /// `from`.
    pub from: Option<String>,
    /// `to` (or `recipient_id`).
    pub to: Option<String>,
    /// `status` (`RINGING`, `COMPLETED`, …).
    pub status: Option<String>,
    /// `duration`, seconds.
    pub duration_seconds: Option<u64>,
    /// The call object's raw JSON.
    pub raw: String,
}

/// What happened. (Messages dominate webhook traffic, so their variant is not boxed.)
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)]
pub enum EventBody {
    /// An inbound message.
    Message(InboundMessage),
    /// A status update.
    Status(StatusUpdate),
    /// A message echo.
    Echo(MessageEcho),
    /// A template update.
    Template(TemplateUpdate),
    /// An account update.
    Account(AccountUpdate),
    /// A phone number update.
    PhoneNumber(PhoneNumberUpdate),
    /// A marketing preference.
    Preference(UserPreference),
    /// A call.
    Call(CallEvent),
    /// An account alert.
    AccountAlert(AccountAlert),
    /// The business account's review decision (`account_review_update`).
    AccountReview(String),
    /// The business's limits changed.
    Capability(BusinessCapability),
    /// A number's two-step verification PIN.
    Security(SecurityNotice),
    /// A flow's status or endpoint health.
    Flow(FlowUpdate),
    /// A group changed.
    Group(GroupUpdate),
    /// A chunk of the WhatsApp Business app's chat history.
    History(HistoryChunk),
    /// A contact of the WhatsApp Business app.
    ContactSync(ContactSync),
    /// Errors Meta reported at the change level.
    Errors(Vec<GraphError>),
    /// Anything not modelled: raw JSON.
    Unknown(String),
}

impl EventBody {
    /// The kind of event: `message`, `status`, `echo`, `template`, `account`,
    /// `phone-number`, `preference`, `call`, `account-alert`, `account-review`,
    /// `capability`, `security`, `flow`, `group`, `history`, `contact-sync`, `errors` or
    /// `unknown` (the JSON's `type`).
    pub fn kind(&self) -> &'static str {
        match self {
            EventBody::Message(_) => "message",
            EventBody::Status(_) => "status",
            EventBody::Echo(_) => "echo",
            EventBody::Template(_) => "template",
            EventBody::Account(_) => "account",
            EventBody::PhoneNumber(_) => "phone-number",
            EventBody::Preference(_) => "preference",
            EventBody::Call(_) => "call",
            EventBody::AccountAlert(_) => "account-alert",
            EventBody::AccountReview(_) => "account-review",
            EventBody::Capability(_) => "capability",
            EventBody::Security(_) => "security",
            EventBody::Flow(_) => "flow",
            EventBody::Group(_) => "group",
            EventBody::History(_) => "history",
            EventBody::ContactSync(_) => "contact-sync",
            EventBody::Errors(_) => "errors",
            EventBody::Unknown(_) => "unknown",
        }
    }
}

/// One event.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Same for every delivery of the same event.
    pub idempotency_key: String,
    /// The change's `field`.
    pub field: String,
    /// Routing keys.
    pub routing: Routing,
    /// The contact.
    pub contact: Option<Contact>,
    /// Meta's timestamp (Unix seconds).
    pub timestamp: Option<u64>,
    /// What happened.
    pub body: EventBody,
}
