//! Refused bodies are not read: after a 413 or a 408 the connection is closed.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::Error;

type BodyStream = std::pin::Pin<
    Box<
        dyn futures_util::Stream<
            Item = Result<actix_web::web::Bytes, actix_web::error::PayloadError>,
        >,
    >,
>;

/// The request's payload, shared between the handler (which reads it) and
/// [`close_after_refused_body`] (which keeps it alive).
struct SharedPayload(std::rc::Rc<std::cell::RefCell<actix_web::dev::Payload>>);

impl futures_util::Stream for SharedPayload {
    type Item = Result<actix_web::web::Bytes, actix_web::error::PayloadError>;

    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        use futures_util::StreamExt as _;
        self.0.borrow_mut().poll_next_unpin(cx)
    }
}

/// A response body that holds the unread request payload until it has been sent.
struct HoldingPayload {
    body: BoxBody,
    _payload: std::rc::Rc<std::cell::RefCell<actix_web::dev::Payload>>,
}

impl MessageBody for HoldingPayload {
    type Error = Box<dyn std::error::Error>;

    fn size(&self) -> actix_web::body::BodySize {
        self.body.size()
    }

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<actix_web::web::Bytes, Self::Error>>> {
        std::pin::Pin::new(&mut self.body).poll_next(cx)
    }
}

/// After a 413 or a 408, the connection is closed instead of drained.
///
/// actix-web reads and discards the rest of a chunked body whose handler dropped it (to keep
/// the connection alive), so a client could stream gigabytes after its 413. It closes the
/// connection instead when the body is still unread *and still held* as the answer goes out:
/// so the request's payload is handed to the handler through a shared handle, and a refused
/// body's answer keeps that handle until it has been sent.
pub async fn close_after_refused_body(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let payload = actix_web::HttpMessage::take_payload(&mut req);
    let shared = std::rc::Rc::new(std::cell::RefCell::new(payload));
    let stream: BodyStream = Box::pin(SharedPayload(std::rc::Rc::clone(&shared)));
    req.set_payload(actix_web::dev::Payload::from(stream));
    let response = next.call(req).await?;
    let refused = matches!(
        response.status(),
        actix_web::http::StatusCode::PAYLOAD_TOO_LARGE
            | actix_web::http::StatusCode::REQUEST_TIMEOUT
    );
    if !refused {
        return Ok(response.map_into_boxed_body());
    }
    Ok(response.map_body(|_, body| {
        BoxBody::new(HoldingPayload {
            body: BoxBody::new(body),
            _payload: shared,
        })
    }))
}
