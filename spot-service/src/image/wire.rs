//! The image service's responses encoded as [`Segments`]: image data goes out by reference (the
//! frame's or the encode cache's buffer), and the source list is encoded once.
//!
//! Each image's `data` is written as the last field of its `Image`, the `Image` last in its
//! `ImageCapture`, the capture last in its `ImageResponse`: protobuf parsers accept fields in any
//! order, and this way everything before the data is one encoded run.

use bytes::Bytes;
use prost::Message;
use prost::encoding::{encoded_len_varint, key_len};

use crate::proto::bosdyn::api::{
    GetImageResponse, ImageResponse, ImageSource, ListImageSourcesResponse,
};
use crate::segmented::Segments;

/// `GetImageResponse.image_responses` (bosdyn/api/image.proto).
const GET_IMAGE_RESPONSE_IMAGE_RESPONSES: u32 = 2;
/// `ImageResponse.shot`.
const IMAGE_RESPONSE_SHOT: u32 = 1;
/// `ImageCapture.image`.
const IMAGE_CAPTURE_IMAGE: u32 = 3;
/// `Image.data`.
const IMAGE_DATA: u32 = 4;

/// The encoded length of a length-delimited field `tag` carrying `len` bytes.
fn field_len(tag: u32, len: usize) -> usize {
    key_len(tag) + encoded_len_varint(len as u64) + len
}

/// `response`, each image's data by reference.
pub(crate) fn get_image_response(mut response: GetImageResponse) -> Segments {
    let answers = std::mem::take(&mut response.image_responses);
    let mut segments = Segments::new();
    segments.put_fields(&response);
    for answer in answers {
        put_image_response(&mut segments, answer);
    }
    segments
}

/// One `image_responses` entry.
fn put_image_response(segments: &mut Segments, mut answer: ImageResponse) {
    let Some(mut shot) = answer.shot.take() else {
        segments.put_message_field(GET_IMAGE_RESPONSE_IMAGE_RESPONSES, &answer);
        return;
    };
    let Some(mut image) = shot.image.take() else {
        answer.shot = Some(shot);
        segments.put_message_field(GET_IMAGE_RESPONSE_IMAGE_RESPONSES, &answer);
        return;
    };
    let data = std::mem::take(&mut image.data);
    let image_len = image.encoded_len() + field_len(IMAGE_DATA, data.len());
    let shot_len = shot.encoded_len() + field_len(IMAGE_CAPTURE_IMAGE, image_len);
    let answer_len = answer.encoded_len() + field_len(IMAGE_RESPONSE_SHOT, shot_len);

    segments.put_field_header(GET_IMAGE_RESPONSE_IMAGE_RESPONSES, answer_len);
    segments.put_fields(&answer);
    segments.put_field_header(IMAGE_RESPONSE_SHOT, shot_len);
    segments.put_fields(&shot);
    segments.put_field_header(IMAGE_CAPTURE_IMAGE, image_len);
    segments.put_fields(&image);
    segments.put_field_header(IMAGE_DATA, data.len());
    segments.put_shared(data);
}

/// The `image_sources` entries of a `ListImageSourcesResponse`, encoded once.
pub(crate) fn encode_sources(sources: Vec<ImageSource>) -> Bytes {
    ListImageSourcesResponse {
        image_sources: sources,
        ..Default::default()
    }
    .encode_to_vec()
    .into()
}

/// `response` (its header; no sources of its own) followed by the pre-encoded `sources`.
pub(crate) fn list_image_sources_response(
    response: &ListImageSourcesResponse,
    sources: &Bytes,
) -> Segments {
    debug_assert!(response.image_sources.is_empty());
    let mut segments = Segments::new();
    segments.put_fields(response);
    segments.put_shared(sources.clone());
    segments
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::bosdyn::api::{
        CaptureParameters, Image, ImageCapture, ResponseHeader, image, image_response,
    };

    fn decode<M: Message + Default>(segments: Segments) -> M {
        let bytes = segments.into_grpc_message().unwrap().to_vec();
        M::decode(&bytes[5..]).expect("decodes")
    }

    fn answer(data: Vec<u8>) -> ImageResponse {
        ImageResponse {
            shot: Some(ImageCapture {
                acquisition_time: Some(prost_types::Timestamp {
                    seconds: 12,
                    nanos: 34,
                }),
                frame_name_image_sensor: "sensor".into(),
                image: Some(Image {
                    cols: 640,
                    rows: 480,
                    data: data.into(),
                    format: image::Format::Raw as i32,
                    pixel_format: image::PixelFormat::RgbU8 as i32,
                }),
                capture_params: Some(CaptureParameters {
                    gain: 1.5,
                    ..Default::default()
                }),
                ..Default::default()
            }),
            source: Some(ImageSource {
                name: "cam".into(),
                cols: 640,
                rows: 480,
                ..Default::default()
            }),
            status: image_response::Status::Ok as i32,
            ..Default::default()
        }
    }

    /// Every shape of answer decodes to exactly the message it was made from: large, small and
    /// empty data, a shot without an image, no shot (a per-image error).
    #[test]
    fn get_image_response_decodes_to_the_same_message() {
        let mut no_image = answer(Vec::new());
        no_image.shot.as_mut().unwrap().image = None;
        let response = GetImageResponse {
            header: Some(ResponseHeader {
                response_timestamp: Some(prost_types::Timestamp {
                    seconds: 5,
                    nanos: 6,
                }),
                ..Default::default()
            }),
            image_responses: vec![
                answer((0..640 * 480 * 3).map(|i| (i % 251) as u8).collect()),
                answer(vec![9; 100]),
                answer(Vec::new()),
                no_image,
                ImageResponse {
                    status: image_response::Status::UnknownCamera as i32,
                    ..Default::default()
                },
                answer(vec![1; 200_000]),
            ],
        };
        let decoded: GetImageResponse = decode(get_image_response(response.clone()));
        assert_eq!(decoded, response);
        assert_eq!(
            decode::<GetImageResponse>(get_image_response(GetImageResponse::default())),
            GetImageResponse::default()
        );
    }

    #[test]
    fn large_image_data_is_shared() {
        let data = Bytes::from(vec![3u8; 100_000]);
        let mut one = answer(Vec::new());
        one.shot.as_mut().unwrap().image.as_mut().unwrap().data = data.clone();
        let segments = get_image_response(GetImageResponse {
            image_responses: vec![one],
            ..Default::default()
        });
        let message = segments.into_grpc_message().unwrap();
        assert!(
            message
                .into_buffers()
                .iter()
                .any(|b| b.as_ptr() == data.as_ptr()),
            "the image data is sent from its own buffer"
        );
    }

    #[test]
    fn list_response_decodes_to_the_same_message() {
        let sources = vec![
            ImageSource {
                name: "a".into(),
                cols: 1,
                ..Default::default()
            },
            ImageSource {
                name: "b".into(),
                rows: 2,
                ..Default::default()
            },
        ];
        let header = ListImageSourcesResponse {
            header: Some(ResponseHeader::default()),
            ..Default::default()
        };
        let decoded: ListImageSourcesResponse = decode(list_image_sources_response(
            &header,
            &encode_sources(sources.clone()),
        ));
        assert_eq!(
            decoded,
            ListImageSourcesResponse {
                image_sources: sources,
                ..header
            }
        );
    }
}
