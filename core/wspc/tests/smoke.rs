use wspc::{BufferType, CloseStatus};
use wspc_testkit::pair::{Got, Pair};

#[test]
fn smoke_text_binary_close() {
    let mut p = Pair::new(&[], &[]);
    p.client
        .session
        .send(BufferType::Utf8Message, Some(b"hello".to_vec()), 1)
        .unwrap();
    p.client
        .session
        .send(BufferType::BinaryMessage, Some(vec![7; 10000]), 2)
        .unwrap();
    p.server.session.receive(10).unwrap();
    p.run();
    assert_eq!(p.client.sends_done, vec![1, 2]);
    assert_eq!(
        p.server.got,
        vec![Got::Piece(BufferType::Utf8Message, b"hello".to_vec())]
    );
    let mut total = 0;
    while total < 10000 {
        p.server.session.receive(11).unwrap();
        p.run();
        match p.server.got.pop().unwrap() {
            Got::Piece(t, d) => {
                total += d.len();
                assert_eq!(t.is_final(), total == 10000, "{t:?} at {total}");
                assert!(d.iter().all(|&b| b == 7));
            }
            other => panic!("{other:?}"),
        }
    }
    p.server
        .session
        .send(BufferType::PingPong, None, 5)
        .unwrap();
    p.server
        .session
        .send_close(CloseStatus::SUCCESS, Some(b"bye".to_vec()), 6)
        .unwrap();
    p.client.session.receive(1).unwrap();
    p.run();
    assert_eq!(p.server.sends_done, vec![5, 6]);
    // The ping was answered automatically; the client sees the close.
    assert_eq!(p.client.got, vec![Got::Close(1000, b"bye".to_vec())]);
    p.server.session.receive(12).unwrap();
    p.run();
    assert_eq!(p.server.got.last(), Some(&Got::Pong(vec![])));
}
