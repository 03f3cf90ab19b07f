//! Answers written from facts. Each fact's text states what the store knows; the answer's
//! sentences say the same in a shopper's words and state nothing a fact does not.

use crate::knowledge::{money, Knowledge, ProductInfo, VariantInfo};
use crate::text;
use crate::understand::{Intent, Understood};
use crate::{Answer, Conversation, Fact, FactKind, Faq, Lookup};

const GREETINGS: &[&str] = &["hi", "hello", "hey", "morning", "afternoon", "evening", "good", "there", "thanks", "thank", "you", "cheers"];

struct Draft {
    sentences: Vec<String>,
    facts: Vec<Fact>,
    products: Vec<String>,
}

impl Draft {
    fn fact(&mut self, kind: FactKind, product: Option<&ProductInfo>, text: String) {
        self.facts.push(Fact { kind, product: product.map(|p| p.code.clone()), text });
    }
    fn card(&mut self, code: &str) {
        if !self.products.iter().any(|c| c == code) {
            self.products.push(code.to_owned());
        }
    }
}

pub(crate) fn compose(
    question: &str,
    understood: &Understood,
    knowledge: &Knowledge,
    faq: &Faq,
    conversation: &mut Conversation,
    lookup: &dyn Lookup,
) -> Answer {
    let mut draft = Draft { sentences: Vec::new(), facts: Vec::new(), products: Vec::new() };
    let mut unknown = false;
    let mut offer_clerk = false;
    let words = text::words(question);

    // Which product: the one named, else the conversation's when this reads as a follow-up.
    let in_play = conversation.product.as_ref().and_then(|code| knowledge.products.iter().position(|p| &p.code == code));
    let greeting = !words.is_empty() && words.iter().all(|w| GREETINGS.contains(&w.as_str()));
    // A follow-up names nothing new ("and in L?", "where is it?"): a word the store cannot
    // place ("shoes") starts a new question instead.
    let follow_up = understood.product.is_none()
        && in_play.is_some()
        && !greeting
        && understood.unexplained == 0
        && (understood.faq.is_none() || understood.size.is_some() || understood.colour.is_some())
        && (!understood.intents.is_empty() || understood.size.is_some() || understood.colour.is_some());
    let product = understood.product.or(if follow_up { in_play } else { None });
    let same_product = product.is_some() && product == in_play;
    let mut intents = understood.intents.clone();
    // "Does another store have it?" asks about the other stores only.
    if intents.contains(&Intent::Elsewhere) {
        intents.retain(|i| *i != Intent::Stock);
    }
    if intents.is_empty() && product.is_some() && (understood.faq.is_none() || understood.size.is_some() || understood.colour.is_some()) {
        // "And in L?" repeats the last question; a product alone asks whether it is here.
        intents = if (follow_up || understood.product.is_some()) && !conversation.intents.is_empty() && understood.unexplained == 0 && words.len() <= 6 {
            conversation.intents.clone()
        } else {
            vec![Intent::Stock]
        };
    }
    let size = understood.size.clone().or_else(|| if product.is_some() { conversation.size.clone() } else { None });
    let colour = understood.colour.clone().or_else(|| if same_product { conversation.colour.clone() } else { None });

    if understood.wants_clerk && product.is_none() {
        draft.sentences.push("Please ask at the till or stop any of our staff: they will be glad to help.".into());
        offer_clerk = true;
    } else if let Some(p) = product.filter(|_| !intents.is_empty()) {
        let p = &knowledge.products[p];
        // A size the product does not come in, or a colour it is not made in, is said first.
        let size = size.filter(|_| p.variants.iter().any(|v| v.size.is_some()));
        let size_ok = size.as_ref().is_none_or(|s| p.variants.iter().any(|v| v.size.as_deref() == Some(s.as_str())));
        let colour_ok = colour.as_ref().is_none_or(|c| p.variants.iter().any(|v| v.colour.as_ref().is_some_and(|vc| vc.eq_ignore_ascii_case(c))));
        draft.card(&p.code);
        if !size_ok {
            let s = size.clone().unwrap_or_default();
            let sizes = list(&p.sizes());
            draft.fact(FactKind::Sizes, Some(p), format!("{} comes in sizes {sizes}; not in size {s}.", p.name));
            draft.sentences.push(format!("Sorry, the {} does not come in {s}: it comes in {sizes}.", p.name));
        }
        if !colour_ok {
            let c = colour.clone().unwrap_or_default();
            let colours = list(&p.colours());
            if colours.is_empty() {
                draft.fact(FactKind::Colours, Some(p), format!("{} comes in one colour only; not in {c}.", p.name));
                draft.sentences.push(format!("Sorry, the {} comes in one colour only, not in {c}.", p.name));
            } else {
                draft.fact(FactKind::Colours, Some(p), format!("{} comes in {colours}; not in {c}.", p.name));
                draft.sentences.push(format!("Sorry, the {} is not made in {c}: it comes in {colours}.", p.name));
            }
        }
        let size_f = size.as_deref().filter(|_| size_ok);
        let colour_f = colour.as_deref().filter(|_| colour_ok);
        if size_ok && colour_ok {
            for intent in &intents {
                match intent {
                    Intent::Stock => stock(&mut draft, p, size_f, colour_f),
                    Intent::Price => price(&mut draft, p, size_f, colour_f, knowledge.today),
                    Intent::Location => location(&mut draft, p),
                    Intent::Sizes => sizes(&mut draft, p, colour_f),
                    Intent::Colours => colours(&mut draft, p, size_f),
                    Intent::Elsewhere => elsewhere(&mut draft, p, size_f, colour_f, true),
                    Intent::Pairing => pairing(&mut draft, p, knowledge, size_f, lookup),
                    Intent::TryOn => try_on(&mut draft, p, size_f),
                }
            }
        }
        conversation.product = Some(p.code.clone());
        conversation.size = size.filter(|_| size_ok);
        conversation.colour = colour.filter(|_| colour_ok);
        conversation.intents = intents;
    } else if let Some(entry) = understood.faq.map(|f| &faq.entries[f]) {
        draft.fact(FactKind::Faq, None, entry.answer.clone());
        draft.sentences.push(entry.answer.clone());
    } else if understood.intents.contains(&Intent::Pairing) && product.is_none() && understood.unexplained == 0 {
        // "What would you recommend?": the best sellers in stock.
        let codes = lookup.goes_with("", size.as_deref(), 3);
        pairing_list(&mut draft, knowledge, &codes, "Popular in this store right now");
    } else if (understood.colour.is_some() || understood.size.is_some()) && understood.unexplained == 0 {
        by_size_or_colour(&mut draft, knowledge, understood.size.as_deref(), understood.colour.as_deref());
        conversation.size = understood.size.clone();
    } else if greeting {
        draft.sentences.push("Hello! Ask me about a product, a size or a colour, a price, or where to find something.".into());
    } else {
        unknown = true;
        offer_clerk = true;
        draft.sentences.push("Sorry, I don't know that one, and I won't guess. A clerk can help you: ask at the till.".into());
    }
    if draft.sentences.is_empty() {
        unknown = true;
        offer_clerk = true;
        draft.sentences.push("Sorry, I don't know that one, and I won't guess. A clerk can help you: ask at the till.".into());
    }
    Answer {
        text: draft.sentences.join(" "),
        facts: draft.facts,
        products: draft.products,
        size: conversation.size.clone().filter(|_| product.is_some()),
        colour: conversation.colour.clone().filter(|_| product.is_some()),
        unknown,
        offer_clerk,
        unsupported: Vec::new(),
        understood: Understood::default(),
    }
}

fn selected<'a>(p: &'a ProductInfo, size: Option<&str>, colour: Option<&str>) -> Vec<&'a VariantInfo> {
    p.variants
        .iter()
        .filter(|v| size.is_none_or(|s| v.size.as_deref() == Some(s)))
        .filter(|v| colour.is_none_or(|c| v.colour.as_deref().is_some_and(|vc| vc.eq_ignore_ascii_case(c))))
        .collect()
}

/// "Drift Hoodie in M in Coal".
fn described(p: &ProductInfo, size: Option<&str>, colour: Option<&str>) -> String {
    let mut s = p.name.clone();
    if let Some(size) = size {
        s.push_str(&format!(" in size {size}"));
    }
    if let Some(colour) = colour {
        s.push_str(&format!(" in {colour}"));
    }
    s
}

fn stock(draft: &mut Draft, p: &ProductInfo, size: Option<&str>, colour: Option<&str>) {
    let sel = selected(p, size, colour);
    let units: i64 = sel.iter().map(|v| v.stock_here.max(0)).sum();
    let what = described(p, size, colour);
    // Units per colour (when several) or per size, so the shopper knows which to look for.
    let by = |key: &dyn Fn(&VariantInfo) -> Option<String>| -> Vec<(String, i64)> {
        let mut out: Vec<(String, i64)> = Vec::new();
        for v in &sel {
            if let Some(k) = key(v) {
                match out.iter_mut().find(|(name, _)| *name == k) {
                    Some(e) => e.1 += v.stock_here.max(0),
                    None => out.push((k, v.stock_here.max(0))),
                }
            }
        }
        out
    };
    let split = if colour.is_none() && p.colours().len() > 1 {
        by(&|v| v.colour.clone())
    } else if size.is_none() && p.sizes().len() > 1 {
        let mut s = by(&|v| v.size.clone());
        s.sort_by_key(|(size, _)| crate::size_rank(size));
        s
    } else {
        Vec::new()
    };
    let split_text = split.iter().filter(|(_, n)| *n > 0).map(|(k, n)| format!("{k}: {n}")).collect::<Vec<_>>().join(", ");
    let backroom: i64 = sel.iter().map(|v| v.in_backroom.clamp(0, v.stock_here.max(0))).sum();
    let floor = units - backroom;
    let split_text = if split_text.is_empty() { String::new() } else { format!(" ({split_text})") };
    draft.fact(FactKind::Stock, Some(p), format!("{what}: {units} in stock here{split_text}; {floor} on the shop floor, {backroom} in the stockroom."));
    if units > 0 {
        draft.sentences.push(format!("Yes, we have {units} of the {what} here{split_text}."));
        if floor == 0 {
            draft.sentences.push("They are all in the stockroom: a clerk can fetch one for you.".into());
        } else {
            location(draft, p);
            if backroom > 0 {
                draft.sentences.push(format!("{floor} are on the shelf and {backroom} more in the stockroom: a clerk can fetch them."));
            }
        }
        return;
    }
    draft.sentences.push(format!("Sorry, the {what} is sold out here."));
    // What the shopper can have instead: the other sizes in that colour, or colours in that size.
    let alternatives: Vec<(String, i64)> = if size.is_some() {
        let mut out: Vec<(String, i64)> = Vec::new();
        for v in selected(p, None, colour).into_iter().filter(|v| v.stock_here > 0) {
            let k = v.size.clone().unwrap_or_default();
            match out.iter_mut().find(|(name, _)| *name == k) {
                Some(e) => e.1 += v.stock_here,
                None => out.push((k, v.stock_here)),
            }
        }
        out.sort_by_key(|(s, _)| crate::size_rank(s));
        out
    } else if colour.is_some() {
        let mut out: Vec<(String, i64)> = Vec::new();
        for v in selected(p, size, None).into_iter().filter(|v| v.stock_here > 0) {
            let k = v.colour.clone().unwrap_or_default();
            match out.iter_mut().find(|(name, _)| *name == k) {
                Some(e) => e.1 += v.stock_here,
                None => out.push((k, v.stock_here)),
            }
        }
        out
    } else {
        Vec::new()
    };
    if !alternatives.is_empty() {
        let text = alternatives.iter().map(|(k, n)| format!("{k}: {n}")).collect::<Vec<_>>().join(", ");
        draft.fact(FactKind::Stock, Some(p), format!("{} in stock here: {text}.", p.name));
        draft.sentences.push(format!("We do have {} here in {text}.", p.name));
    }
    elsewhere(draft, p, size, colour, false);
}

fn price(draft: &mut Draft, p: &ProductInfo, size: Option<&str>, colour: Option<&str>, today: i64) {
    let sel = selected(p, size, colour);
    let (Some(low), Some(high)) = (sel.iter().map(|v| p.price_today(v)).min(), sel.iter().map(|v| p.price_today(v)).max()) else {
        return;
    };
    let what = described(p, size, colour);
    let amount = if low == high { money(low) } else { format!("from {} to {}", money(low), money(high)) };
    match p.promotion {
        Some(promo) => {
            let usual = sel.iter().map(|v| v.price_cents).max().unwrap_or(high);
            let until = day_text(promo.ends_day);
            let days_left = promo.ends_day - today;
            draft.fact(FactKind::Price, Some(p), format!("{what}: {amount} today, usual price {}, {} % off until {until}.", money(usual), promo.percent_off));
            draft.sentences.push(format!(
                "The {what} is on offer at {amount} instead of {} ({} % off) until {until}{}.",
                money(usual),
                promo.percent_off,
                if days_left == 0 { ", the last day" } else { "" }
            ));
        }
        None => {
            draft.fact(FactKind::Price, Some(p), format!("{what}: {amount}."));
            draft.sentences.push(format!("The {what} is {amount}."));
        }
    }
}

fn location(draft: &mut Draft, p: &ProductInfo) {
    let mut places: Vec<(&str, &str)> = Vec::new();
    for v in &p.variants {
        if let Some(code) = v.location.as_deref() {
            let name = v.location_name.as_deref().unwrap_or(code);
            if !places.iter().any(|(c, _)| *c == code) {
                places.push((code, name));
            }
        }
    }
    if places.is_empty() {
        draft.fact(FactKind::Location, Some(p), format!("{} has no shelf on record.", p.name));
        draft.sentences.push(format!("I have no shelf on record for the {}: a clerk can find it for you.", p.name));
        return;
    }
    let text = places.iter().map(|(code, name)| format!("{} (shelf {code})", name.split(':').next().unwrap_or(name))).collect::<Vec<_>>().join(" and ");
    draft.fact(FactKind::Location, Some(p), format!("{} is on {}.", p.name, places.iter().map(|(c, n)| format!("{c}, {n}")).collect::<Vec<_>>().join("; ")));
    draft.sentences.push(format!("You'll find it in {text}."));
}

fn sizes(draft: &mut Draft, p: &ProductInfo, colour: Option<&str>) {
    let all = p.sizes();
    if all.is_empty() {
        draft.fact(FactKind::Sizes, Some(p), format!("{} comes in one size.", p.name));
        draft.sentences.push(format!("The {} comes in one size.", p.name));
        return;
    }
    let here: Vec<String> = all.iter().filter(|s| selected(p, Some(s.as_str()), colour).iter().any(|v| v.stock_here > 0)).cloned().collect();
    let what = described(p, None, colour);
    draft.fact(FactKind::Sizes, Some(p), format!("{} comes in sizes {}; {what} in stock here in {}.", p.name, list(&all), if here.is_empty() { "no size".into() } else { list(&here) }));
    if here.is_empty() {
        draft.sentences.push(format!("The {} comes in {}, but the {what} is sold out here in every size.", p.name, list(&all)));
    } else if here.len() == all.len() {
        draft.sentences.push(format!("The {what} comes in {}, and every size is in stock here.", list(&all)));
    } else {
        draft.sentences.push(format!("The {} comes in {}; here we have the {what} in {}.", p.name, list(&all), list(&here)));
    }
}

fn colours(draft: &mut Draft, p: &ProductInfo, size: Option<&str>) {
    let all = p.colours();
    if all.is_empty() {
        draft.fact(FactKind::Colours, Some(p), format!("{} comes in one colour.", p.name));
        draft.sentences.push(format!("The {} comes in one colour only.", p.name));
        return;
    }
    let here: Vec<String> = all.iter().filter(|c| selected(p, size, Some(c.as_str())).iter().any(|v| v.stock_here > 0)).cloned().collect();
    let what = described(p, size, None);
    draft.fact(FactKind::Colours, Some(p), format!("{} comes in {}; {what} in stock here in {}.", p.name, list(&all), if here.is_empty() { "no colour".into() } else { list(&here) }));
    if here.is_empty() {
        draft.sentences.push(format!("The {} comes in {}, but the {what} is sold out here in every colour.", p.name, list(&all)));
    } else if here.len() == all.len() {
        draft.sentences.push(format!("The {what} comes in {}, all in stock here.", list(&all)));
    } else {
        draft.sentences.push(format!("The {} comes in {}; here we have the {what} in {}.", p.name, list(&all), list(&here)));
    }
}

fn elsewhere(draft: &mut Draft, p: &ProductInfo, size: Option<&str>, colour: Option<&str>, asked: bool) {
    let mut stores: Vec<(String, i64)> = Vec::new();
    let mut known = false;
    for v in selected(p, size, colour) {
        for (store, n) in &v.elsewhere {
            known = true;
            match stores.iter_mut().find(|(s, _)| s == store) {
                Some(e) => e.1 += (*n).max(0),
                None => stores.push((store.clone(), (*n).max(0))),
            }
        }
    }
    let what = described(p, size, colour);
    stores.retain(|(_, n)| *n > 0);
    if !known {
        if asked {
            draft.fact(FactKind::Elsewhere, Some(p), format!("No stock figures from other stores for {what}."));
            draft.sentences.push("I have no stock figures from our other stores for that: a clerk can call them for you.".into());
        }
        return;
    }
    if stores.is_empty() {
        draft.fact(FactKind::Elsewhere, Some(p), format!("{what}: none in stock at the other stores."));
        draft.sentences.push(format!("Our other stores have none of the {what} either."));
        return;
    }
    let text = stores.iter().map(|(s, n)| format!("{} ({n})", store_name(s))).collect::<Vec<_>>().join(", ");
    draft.fact(FactKind::Elsewhere, Some(p), format!("{what} in stock at other stores: {text}."));
    draft.sentences.push(format!("Our other stores have it: {text}. A clerk can have it sent here."));
}

/// A store id as shoppers read it ("lyon-part-dieu" → "Lyon Part Dieu"; the demo's
/// "demo-old-town" → "Old Town").
fn store_name(id: &str) -> String {
    id.strip_prefix("demo-").unwrap_or(id).split(['-', '_']).filter(|w| !w.is_empty()).map(|w| {
        let mut c = w.chars();
        c.next().map(|f| f.to_uppercase().chain(c).collect::<String>()).unwrap_or_default()
    }).collect::<Vec<_>>().join(" ")
}

fn pairing(draft: &mut Draft, p: &ProductInfo, knowledge: &Knowledge, size: Option<&str>, lookup: &dyn Lookup) {
    let codes = lookup.goes_with(&p.code, size, 3);
    draft.fact(FactKind::Pairing, Some(p), format!("Shoppers buy these with {}:", p.name));
    pairing_list(draft, knowledge, &codes, &format!("Shoppers often take these with the {}", p.name));
}

fn pairing_list(draft: &mut Draft, knowledge: &Knowledge, codes: &[String], lead: &str) {
    let mut items = Vec::new();
    for code in codes {
        let Some(q) = knowledge.products.iter().find(|q| &q.code == code) else { continue };
        let Some(low) = q.variants.iter().filter(|v| v.stock_here > 0).map(|v| q.price_today(v)).min() else { continue };
        let shelf = q.variants.iter().find_map(|v| v.location.clone());
        draft.fact(FactKind::Pairing, Some(q), format!("{}: from {}, in stock here{}.", q.name, money(low), shelf.as_ref().map(|s| format!(", shelf {s}")).unwrap_or_default()));
        items.push(format!("the {} (from {}{})", q.name, money(low), shelf.map(|s| format!(", shelf {s}")).unwrap_or_default()));
        draft.card(&q.code);
    }
    if items.is_empty() {
        draft.sentences.push("I have no suggestion in stock for that right now.".into());
    } else {
        draft.sentences.push(format!("{lead}: {}.", list(&items)));
    }
}

fn try_on(draft: &mut Draft, p: &ProductInfo, size: Option<&str>) {
    if selected(p, size, None).iter().any(|v| v.try_on) {
        draft.fact(FactKind::TryOn, Some(p), format!("{} can be tried on at the mirror.", p.name));
        draft.sentences.push(format!("Yes: tap \"Try it on\" on the card and the mirror shows the {} on you.", p.name));
    } else {
        draft.fact(FactKind::TryOn, Some(p), format!("{} cannot be shown at the mirror.", p.name));
        draft.sentences.push(format!("The mirror cannot show the {}, but the fitting rooms are open.", p.name));
    }
}

fn by_size_or_colour(draft: &mut Draft, knowledge: &Knowledge, size: Option<&str>, colour: Option<&str>) {
    let mut items = Vec::new();
    for p in &knowledge.products {
        let sel = selected(p, size, colour);
        let units: i64 = sel.iter().map(|v| v.stock_here.max(0)).sum();
        if units > 0 && (size.is_none() || p.variants.iter().any(|v| v.size.is_some())) && (colour.is_none() || p.variants.iter().any(|v| v.colour.is_some())) {
            let what = described(p, size, colour);
            draft.fact(FactKind::Stock, Some(p), format!("{what}: {units} in stock here."));
            items.push(format!("the {} ({units})", p.name));
            draft.card(&p.code);
        }
    }
    let asked = [size.map(|s| format!("size {s}")), colour.map(str::to_owned)].into_iter().flatten().collect::<Vec<_>>().join(" in ");
    if items.is_empty() {
        draft.fact(FactKind::Stock, None, format!("Nothing in {asked} in stock here."));
        draft.sentences.push(format!("Sorry, nothing in {asked} is in stock here."));
    } else {
        draft.sentences.push(format!("In {asked} we have {} here.", list(&items)));
    }
}

/// "S, M and L".
fn list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// "24 Dec" for a UTC day number.
fn day_text(day: i64) -> String {
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    // Civil from days (Howard Hinnant's algorithm).
    let z = day + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    format!("{d} {}", MONTHS[(m - 1) as usize])
}
