// Package queue holds the one FIFO pop of the alert engines' slice queues
// (head index plus compaction), shared so the copies cannot drift.
package queue

// PopFront removes and returns (*q)[*head], zeroing its slot so the queue
// keeps no pointer to it. Once the dead front is longer than minDead and
// half the slice, the live tail moves down, so a long-lived queue's memory
// follows what it holds, not what it ever held.
func PopFront[T any](q *[]T, head *int, minDead int) T {
	var zero T
	v := (*q)[*head]
	(*q)[*head] = zero
	*head++
	if *head > minDead && *head*2 >= len(*q) {
		n := copy(*q, (*q)[*head:])
		clear((*q)[n:])
		*q = (*q)[:n]
		*head = 0
	}
	return v
}
