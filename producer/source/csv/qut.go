package csv

// QUTHeader is the header line of the QUT coordination-network-toolkit's CSV
// layout (QUT-Digital-Observatory/coordination-network-toolkit, README,
// "CSV (All other platforms)").
const QUTHeader = "message_id,user_id,username,repost_id,reply_id,message,timestamp,urls"

// QUT returns the Options for the toolkit's CSV: a header, then message_id,
// user_id, username, repost_id, reply_id, message, timestamp (Unix seconds,
// with a fraction as in "1606451170.518101"), urls (space-separated).
// Columns are taken by position, as the toolkit does ("the names of the
// columns don't matter but the order does"). An empty repost_id, reply_id
// or urls is none; a repost's text is the message column as the file has it.
func QUT() Options {
	return Options{
		Header: true, Columns: 8,
		ID: "0", UserID: "1", User: "2", RetweetOf: "3", ReplyTo: "4", Text: "5", Time: "6", URLs: "7",
		TimeFormat: Unix,
	}
}
