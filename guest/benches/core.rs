//! The core's hot paths, natively: `cargo bench -p whatsapp-guest`. (`wa-host bench`
//! measures the same work through the component and the host.)

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use whatsapp_guest::core::messages::{self, Outgoing};
use whatsapp_guest::core::outgoing::Content;
use whatsapp_guest::core::settings::Settings;
use whatsapp_guest::core::webhook;

/// A 1.8 KB webhook: an inbound text from an ad, in reply, and a delivered status.
const TYPICAL: &str = r#"{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},"contacts":[{"profile":{"name":"Ana Souza"},"wa_id":"15551234567","user_id":"US.13491208655302741918"}],"messages":[{"from":"15551234567","id":"wamid.HBgLMTU1NTEyMzQ1NjcVAgASGBQzQUI0000000000000001","timestamp":"1764072000","type":"text","text":{"body":"Hi! I ordered the blue running shoes last week (order 48213) and the tracking page still says the parcel is at the depot. Could you tell me when it will be delivered, and whether I can pick it up myself from the shop on Main Street instead? I am free on Saturday morning. Thanks a lot for your help!"},"context":{"from":"15550783881","id":"wamid.HBgLMTU1NTEyMzQ1NjcVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA"},"referral":{"source_url":"https://fb.me/3cr4Wqqkv","source_id":"120201234567890123","source_type":"ad","headline":"Spring sale: running shoes","body":"Up to 40% off this week only.","media_type":"image","image_url":"https://scontent.xx.fbcdn.net/v/t45.1600-4/abc.jpg","ctwa_clid":"ARAkLkA8rmlFeiCktEJQ-QTwRiyYHAFDLMNDBH0CD3qpjd0HR4irJ6LEkR7JwFF4XvnO2E4Nx0-eM-GABDLOPaOdRMv-_zfUQ2a"}}]}},{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},"statuses":[{"id":"wamid.HBgLMTU1NTEyMzQ1NjcVAgARGBI0000000000000001","status":"delivered","timestamp":"1764072001","recipient_id":"15551234567","conversation":{"id":"b1b1f0c6e0a6a3c2b0f4e5d6c7b8a9f0","origin":{"type":"service"}},"pricing":{"billable":false,"pricing_model":"PMP","category":"service","type":"free_customer_service"},"biz_opaque_callback_data":"order-48213"}]}}]}]}"#;

fn benches(c: &mut Criterion) {
    let body = TYPICAL.as_bytes();
    let sig = webhook::sign(b"app-secret", body);
    c.bench_function("webhook verify (1.8 KB)", |b| {
        b.iter(|| webhook::verify_signature(b"app-secret", black_box(body), Some(&sig)).unwrap())
    });
    c.bench_function("webhook parse (1.8 KB, 2 events)", |b| {
        b.iter(|| webhook::parse(black_box(body)).unwrap())
    });
    let settings = Settings::from_pairs(vec![("phone-number-id".into(), "106540352242922".into())]);
    let msg = Outgoing {
        to: "+15551234567".into(),
        content: Content::Text {
            body: "Your order has shipped.".into(),
            preview_url: false,
        },
        reply_to: None,
        biz_opaque_callback_data: None,
    };
    c.bench_function("send request (text)", |b| {
        b.iter(|| messages::send_request(&settings, black_box(&msg)).unwrap())
    });
}

criterion_group!(core, benches);
criterion_main!(core);
