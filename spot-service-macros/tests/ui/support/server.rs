//! `fake_server!(FooServer: Foo = "pkg.Foo")` writes a server struct for a hand-written service
//! trait, shaped like a tonic-generated one, for tests that need a trait the bosdyn protos do not
//! have. (Included with `#[path]`.)

#[macro_export]
macro_rules! fake_server {
    ($server:ident : $service:ident = $name:literal) => {
        pub struct $server<T>(std::sync::Arc<T>);

        impl<T> $server<T> {
            pub fn new(inner: T) -> Self {
                Self(std::sync::Arc::new(inner))
            }
            pub fn max_decoding_message_size(self, _limit: usize) -> Self {
                self
            }
            pub fn max_encoding_message_size(self, _limit: usize) -> Self {
                self
            }
        }

        impl<T> Clone for $server<T> {
            fn clone(&self) -> Self {
                Self(self.0.clone())
            }
        }

        impl<T> tonic::server::NamedService for $server<T> {
            const NAME: &'static str = $name;
        }

        impl<T: $service, B: Send + 'static> tonic::codegen::Service<tonic::codegen::http::Request<B>>
            for $server<T>
        {
            type Response = tonic::codegen::http::Response<tonic::body::Body>;
            type Error = std::convert::Infallible;
            type Future = tonic::codegen::BoxFuture<Self::Response, Self::Error>;

            fn poll_ready(
                &mut self,
                _cx: &mut tonic::codegen::Context<'_>,
            ) -> tonic::codegen::Poll<Result<(), Self::Error>> {
                tonic::codegen::Poll::Ready(Ok(()))
            }

            fn call(&mut self, _request: tonic::codegen::http::Request<B>) -> Self::Future {
                Box::pin(async { Ok(tonic::Status::unimplemented("test").into_http()) })
            }
        }
    };
}
