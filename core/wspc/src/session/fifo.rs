//! The queue of a session's sends or receives: first in, first out, with the front operation
//! held inline in the session and only the ones behind it on the heap.
//!
//! Nearly always one operation is queued per side (a driver queues the next receive when the
//! last one completes). Keeping it inline means planning an action reads nothing outside the
//! session: with a `VecDeque`, the front lived in a heap block of its own, one more cache line
//! to fetch per action, which showed as the hottest load of `get_action` when a server serves
//! hundreds of connections.

use std::collections::VecDeque;

/// A FIFO whose front element is stored inline. Invariant: `rest` is empty while `front` is.
#[derive(Debug)]
pub(super) struct Fifo<T> {
    front: Option<T>,
    rest: VecDeque<T>,
}

impl<T> Fifo<T> {
    /// An empty queue; nothing is allocated until a second element is queued.
    pub(super) const fn new() -> Self {
        Self {
            front: None,
            rest: VecDeque::new(),
        }
    }

    pub(super) fn push_back(&mut self, item: T) {
        if self.front.is_none() {
            self.front = Some(item);
        } else {
            self.rest.push_back(item);
        }
    }

    pub(super) fn pop_front(&mut self) -> Option<T> {
        let item = self.front.take();
        // Reads only `rest`'s length (inline) when it is empty, the common case.
        self.front = self.rest.pop_front();
        item
    }

    pub(super) fn front(&self) -> Option<&T> {
        self.front.as_ref()
    }

    pub(super) fn front_mut(&mut self) -> Option<&mut T> {
        self.front.as_mut()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.front.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::Fifo;

    #[test]
    fn keeps_the_order_of_arrival_across_the_inline_front() {
        let mut q = Fifo::new();
        assert!(q.is_empty());
        assert_eq!(q.pop_front(), None);
        q.push_back(1);
        q.push_back(2);
        q.push_back(3);
        assert_eq!(q.front(), Some(&1));
        *q.front_mut().unwrap() = 10;
        assert_eq!(q.pop_front(), Some(10));
        q.push_back(4);
        assert_eq!(q.pop_front(), Some(2));
        assert_eq!(q.pop_front(), Some(3));
        assert!(!q.is_empty());
        assert_eq!(q.pop_front(), Some(4));
        assert!(q.is_empty());
        assert_eq!(q.front(), None);
        assert_eq!(q.pop_front(), None);
        // Refilled after running dry, the inline slot is used again.
        q.push_back(5);
        assert_eq!(q.front(), Some(&5));
        assert_eq!(q.pop_front(), Some(5));
        assert!(q.is_empty());
    }
}
