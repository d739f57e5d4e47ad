//! The `business` interface and `connection.add-number` end to end through component,
//! host and sandbox: conversational automation, QR codes, commerce settings, calling and
//! storage settings, the profile picture (fetched without the token: the sandbox's
//! picture host refuses one that carries it), the WABA's catalogs, adding a number.
//! Meta's limits are refused before anything is sent.

use whatsapp_host::api::business::{Automation, BotCommand, CommerceSettings, QrImageFormat};
use whatsapp_host::api::{Error, ErrorKind, ProductInput};
use whatsapp_tests::{Harness, PHONE_NUMBER_ID, quiet};

fn refused(r: &Result<impl std::fmt::Debug, Error>, field: &str) -> bool {
    matches!(r, Err(Error { kind: ErrorKind::InvalidInput, field: Some(f), .. }) if f == field)
}

#[tokio::test]
async fn automation_qr_codes_and_commerce_settings_are_kept_per_number() {
    let h = Harness::start(quiet()).await;
    let none = h
        .instance()
        .await
        .get_automation(None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            none.welcome_message,
            none.prompts.len(),
            none.commands.len()
        ),
        (false, 0, 0)
    );
    let wanted = Automation {
        welcome_message: true,
        prompts: vec!["Book a flight".into(), "Plan a vacation".into()],
        commands: vec![BotCommand {
            name: "tickets".into(),
            description: "Book flight tickets".into(),
        }],
    };
    h.instance()
        .await
        .set_automation(None, &wanted)
        .await
        .unwrap()
        .unwrap();
    let got = h
        .instance()
        .await
        .get_automation(Some(PHONE_NUMBER_ID))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got, wanted);
    let mut too_many = wanted.clone();
    too_many.prompts = vec!["x".into(); 4];
    assert!(refused(
        &h.instance()
            .await
            .set_automation(None, &too_many)
            .await
            .unwrap(),
        "automation.prompts"
    ));
    let r = h
        .instance()
        .await
        .set_automation(Some("999999999999999"), &wanted)
        .await
        .unwrap();
    assert!(
        matches!(
            r,
            Err(Error {
                kind: ErrorKind::InvalidInput,
                ..
            })
        ),
        "not the tenant's number: {r:?}"
    );

    // QR codes: created with a PNG, the message changed, listed with SVGs, deleted.
    let code = h
        .instance()
        .await
        .create_qr_code(
            None,
            "Show me Cyber Monday deals!",
            Some(QrImageFormat::Png),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        code.deep_link_url,
        format!("https://wa.me/message/{}", code.code)
    );
    assert!(
        code.image_url
            .as_deref()
            .is_some_and(|u| u.ends_with(".png")),
        "{code:?}"
    );
    let changed = h
        .instance()
        .await
        .update_qr_code(None, &code.code, "Tuesday deals")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (changed.code.as_str(), changed.prefilled_message.as_str()),
        (code.code.as_str(), "Tuesday deals")
    );
    let page = h
        .instance()
        .await
        .list_qr_codes(None, Some(QrImageFormat::Svg), None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(page.codes.len(), 1);
    assert!(
        page.codes[0]
            .image_url
            .as_deref()
            .is_some_and(|u| u.ends_with(".svg"))
    );
    assert!(refused(
        &h.instance()
            .await
            .create_qr_code(None, &"x".repeat(141), None)
            .await
            .unwrap(),
        "prefilled-message"
    ));
    assert!(refused(
        &h.instance()
            .await
            .delete_qr_code(None, "../../messages")
            .await
            .unwrap(),
        "code"
    ));
    h.instance()
        .await
        .delete_qr_code(None, &code.code)
        .await
        .unwrap()
        .unwrap();
    let gone = h
        .instance()
        .await
        .delete_qr_code(None, &code.code)
        .await
        .unwrap();
    assert!(
        matches!(&gone, Err(Error { graph: Some(g), .. }) if g.code == 100),
        "{gone:?}"
    );
    let page = h
        .instance()
        .await
        .list_qr_codes(None, None, None)
        .await
        .unwrap()
        .unwrap();
    assert!(page.codes.is_empty());

    // Commerce settings: Meta's defaults, then changed.
    let c = h
        .instance()
        .await
        .get_commerce_settings(None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((c.cart_enabled, c.catalog_visible), (true, true));
    let off = CommerceSettings {
        cart_enabled: false,
        catalog_visible: true,
    };
    h.instance()
        .await
        .set_commerce_settings(None, off)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        h.instance()
            .await
            .get_commerce_settings(None)
            .await
            .unwrap()
            .unwrap(),
        off
    );
}

#[tokio::test]
async fn settings_picture_catalogs_and_a_new_number() {
    let h = Harness::start(quiet()).await;
    let s = h
        .instance()
        .await
        .get_number_settings(None)
        .await
        .unwrap()
        .unwrap();
    assert!(
        !s.calling_enabled && !s.storage_localized && s.storage_region.is_none(),
        "{s:?}"
    );
    h.instance()
        .await
        .set_calling(None, true, Some(false), Some(true))
        .await
        .unwrap()
        .unwrap();
    h.instance()
        .await
        .set_storage(None, Some("DE"))
        .await
        .unwrap()
        .unwrap();
    let s = h
        .instance()
        .await
        .get_number_settings(None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            s.calling_enabled,
            s.call_icon_visible,
            s.callback_permission,
            s.storage_localized,
            s.storage_region.as_deref()
        ),
        (true, false, true, true, Some("DE"))
    );
    assert!(refused(
        &h.instance()
            .await
            .set_storage(None, Some("Germany"))
            .await
            .unwrap(),
        "region"
    ));
    h.instance()
        .await
        .set_storage(None, None)
        .await
        .unwrap()
        .unwrap();
    assert!(
        !h.instance()
            .await
            .get_number_settings(None)
            .await
            .unwrap()
            .unwrap()
            .storage_localized
    );

    let p = h
        .instance()
        .await
        .profile_picture(None)
        .await
        .unwrap()
        .unwrap()
        .expect("a picture");
    assert_eq!(
        (p.mime_type.as_str(), p.data.as_slice()),
        ("image/jpeg", whatsapp_host::sandbox::business::PICTURE)
    );

    assert!(
        h.instance()
            .await
            .catalogs()
            .await
            .unwrap()
            .unwrap()
            .is_empty()
    );
    let product = ProductInput {
        retailer_id: "sku-1".into(),
        name: "Succulent".into(),
        description: None,
        price_minor: 1299,
        currency: "USD".into(),
        availability: "in stock".into(),
        condition: None,
        image_url: "https://shop.example/1.jpg".into(),
        url: None,
        brand: None,
    };
    h.instance()
        .await
        .create_product("1234567890", &product)
        .await
        .unwrap()
        .unwrap();
    let catalogs = h.instance().await.catalogs().await.unwrap().unwrap();
    assert_eq!(
        catalogs.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
        ["1234567890"]
    );

    // A number added: pending in the WABA's list, to verify and register next.
    let id = h
        .instance()
        .await
        .add_number("1", "6315550101", "Jasper's Market")
        .await
        .unwrap()
        .unwrap();
    let numbers = h.instance().await.list_numbers().await.unwrap().unwrap();
    let added = numbers.iter().find(|n| n.id == id).expect("listed");
    assert_eq!(
        (added.display_phone_number.as_str(), added.status.as_deref()),
        ("+16315550101", Some("PENDING"))
    );
    let again = h
        .instance()
        .await
        .add_number("1", "6315550101", "Jasper's Market")
        .await
        .unwrap();
    assert!(
        matches!(&again, Err(Error { graph: Some(g), .. }) if g.code == 100),
        "{again:?}"
    );
    assert!(refused(
        &h.instance()
            .await
            .add_number("+1", "6315550101", "Jasper's")
            .await
            .unwrap(),
        "country-code"
    ));
}
