//! Property tests of the delivery-status reducer: under any order of status updates,
//! including duplicates and late arrivals, a message's state only moves forward,
//! `failed` is terminal, and where it ends depends on which updates came, not on
//! their order.

use proptest::prelude::*;
use whatsapp_guest::core::GraphError;
use whatsapp_guest::core::webhook::DeliveryStatus;
use whatsapp_guest::core::webhook::state::{DeliveryState, reduce};

/// A status update; a failure carries an error with the given code.
type Update = (DeliveryStatus, i32);

fn update() -> impl Strategy<Value = Update> {
    (status(), 0..1000i32)
}

fn status() -> impl Strategy<Value = DeliveryStatus> {
    prop::sample::select(vec![
        DeliveryStatus::Sent,
        DeliveryStatus::Delivered,
        DeliveryStatus::Read,
        DeliveryStatus::Played,
        DeliveryStatus::Failed,
        DeliveryStatus::Deleted,
    ])
}

fn error(code: i32) -> GraphError {
    GraphError {
        code,
        subcode: None,
        error_type: None,
        message: format!("error {code}"),
        details: None,
        fbtrace_id: None,
        is_transient: false,
        http_status: 200,
    }
}

/// Fold `updates` through the reducer; return every state the message went through.
fn run(updates: &[Update]) -> Vec<DeliveryState> {
    let mut history: Vec<DeliveryState> = Vec::new();
    for &(u, code) in updates {
        let errors = if u == DeliveryStatus::Failed {
            vec![error(code)]
        } else {
            vec![]
        };
        if let Some(next) = reduce(history.last(), u, &errors) {
            history.push(next);
        }
    }
    history
}

/// The reducer's order of progress (`failed` after everything, so it ends a message).
fn rank(s: DeliveryStatus) -> u8 {
    match s {
        DeliveryStatus::Sent => 1,
        DeliveryStatus::Delivered => 2,
        DeliveryStatus::Read => 3,
        DeliveryStatus::Played => 4,
        DeliveryStatus::Deleted => 5,
        DeliveryStatus::Failed => 6,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn states_only_move_forward_and_failed_is_terminal(updates in prop::collection::vec(update(), 0..24)) {
        let history = run(&updates);
        for pair in history.windows(2) {
            let (a, b) = (pair[0].status().unwrap(), pair[1].status().unwrap());
            prop_assert!(rank(a) < rank(b), "{:?} moved back to {:?}", a, b);
            prop_assert_ne!(a, DeliveryStatus::Failed, "a failed message moved on");
        }
    }

    #[test]
    fn the_final_state_does_not_depend_on_the_order(
        (updates, shuffled) in prop::collection::vec(update(), 1..24)
            .prop_flat_map(|u| (Just(u.clone()), Just(u).prop_shuffle())),
    ) {
        let a = run(&updates);
        let b = run(&shuffled);
        let last = |h: &[DeliveryState]| h.last().and_then(DeliveryState::status);
        let best = updates.iter().map(|u| u.0).max_by_key(|&s| rank(s));
        prop_assert_eq!(last(&a), best);
        prop_assert_eq!(last(&b), best);
        // A failure keeps the errors of the failure that came first.
        for (order, history) in [(&updates, &a), (&shuffled, &b)] {
            if let Some(&(_, code)) = order.iter().find(|u| u.0 == DeliveryStatus::Failed) {
                prop_assert_eq!(&history.last().unwrap().errors, &vec![(code, format!("error {code}"))]);
            }
        }
    }

    #[test]
    fn a_duplicate_changes_nothing(updates in prop::collection::vec(update(), 1..24), dup in any::<prop::sample::Index>()) {
        let mut with_dup = updates.clone();
        let i = dup.index(updates.len());
        with_dup.insert(i + 1, updates[i]);
        prop_assert_eq!(run(&updates), run(&with_dup));
    }
}
