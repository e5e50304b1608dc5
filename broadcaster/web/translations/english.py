"""The English catalogue's source: Vietnamese text (the pages' own) -> English.

`python -m broadcaster.web.translations.english` writes en/LC_MESSAGES/messages.po and .mo from this and the
extracted messages.pot (see babel.cfg). A test fails when a page's text has no English here.
"""

from __future__ import annotations

EN: dict[str, str] = {
    # The write form keeps every choice; the leader's review (issue 18).
    "%(minutes)s phút %(seconds)s giây": "%(minutes)s min %(seconds)s s",
    "%(seconds)s giây": "%(seconds)s s",
    "%(priority)s · phát %(when)s · tới %(where)s": "%(priority)s · airs %(when)s · to %(where)s",
    "Bản tin do bạn viết: một lãnh đạo khác sẽ nghe và duyệt.":
        "You wrote this bulletin: another leader will listen to it and approve it.",
    "Bản tin đọc mất khoảng %(minutes)s phút, dài hơn mức cho phép %(most)s phút. Hãy chia thành vài bản tin ngắn "
    "hơn.": "The bulletin takes about %(minutes)s min to read, longer than the %(most)s min allowed. Split it into "
            "several shorter bulletins.",
    "Chỉ duyệt (lên lịch sau)": "Approve only (schedule later)",
    "Có ngày nghỉ phát không đúng; hãy chọn lại các ngày nghỉ.": "A date to skip is not a date; choose them again.",
    "Hãy chọn ít nhất một ngày trong tuần để phát lặp lại.": "Choose at least one day of the week to repeat on.",
    "Hãy ghi giờ phát dạng giờ:phút, 24 giờ, cách nhau bằng dấu phẩy (ví dụ 06:30, 17:00).":
        "Write the times as hours:minutes, 24-hour, separated by commas (e.g. 06:30, 17:00).",
    "Lãnh đạo xã nghe, duyệt rồi phát theo thời gian và cụm loa bạn chọn (lãnh đạo có thể sửa).":
        "The commune leader listens, approves, and it airs at the time and on the clusters you chose (the leader "
        "may change them).",
    "Lịch lặp lại không có lần phát nào trong năm tới; hãy xem lại ngày và giờ.":
        "This weekly schedule never plays in the coming year; check its dates and times.",
    "Máy nghe thử chưa rõ vài chỗ (tô màu bên dưới: %(words)s). Hãy nghe lại những chỗ đó; nếu đọc sai, sửa chữ "
    "viết hoặc thêm vào từ điển của xã.":
        "The listening machine was unsure of a few places (marked below: %(words)s). Listen to them again; if "
        "they are read wrong, change the text or add the word to the commune's dictionary.",
    "Máy nghe thử hiểu rõ bản đọc.": "The listening machine understood the reading clearly.",
    "Nghe bản sẽ phát": "Hear what will air",
    "Ngày bắt đầu không đúng; hãy chọn một ngày.": "The start date is not a date; choose one.",
    "Ngày kết thúc phải sau ngày bắt đầu và chưa qua.": "The end date must come after the start date and not be past.",
    "Người viết đề nghị:": "The writer asks for:",
    "Thời gian, mức ưu tiên và nơi phát (sửa nếu cần)": "Time, priority and where it airs (change if needed)",
    "Tài khoản của bạn không được làm việc này. Hãy nhờ lãnh đạo xã hoặc người quản trị.":
        "Your account may not do this. Ask the commune leader or the administrator.",
    "Tài khoản vận hành không viết thông báo. Khi cần báo gấp, dùng nút KHẨN CẤP hoặc Phát trực tiếp.":
        "Operator accounts do not write announcements. For something urgent, use EMERGENCY or Live.",
    "hằng tuần %(days)s lúc %(times)s": "every week on %(days)s at %(times)s",
    "lúc %(time)s ngày %(day)s": "at %(time)s on %(day)s",
    "mọi cụm loa": "every cluster",
    "phát": "airs",
    "trừ %(days)s": "except %(days)s",
    "từ %(day)s": "from %(day)s",
    "đến %(day)s": "until %(day)s",
    "Đây là giọng máy (espeak-ng): người nghe khó hiểu. Để có giọng đọc tự nhiên, người quản trị máy chủ chạy "
    "lệnh: broadcaster voices fetch piper vais1000":
        "This is the robotic voice (espeak-ng), which listeners find hard to understand. For a natural voice, the "
        "server's administrator runs: broadcaster voices fetch piper vais1000",
    "Đọc mất khoảng %(length)s.": "Takes about %(length)s to read.",
    "Đọc mất khoảng %(length)s: dài quá %(most)s phút. Hãy chia thành vài bản tin.":
        "Takes about %(length)s to read: longer than %(most)s min. Split it into several bulletins.",
    "Đọc tối đa %(minutes)s phút.": "At most %(minutes)s min of reading.",
    "Tài khoản này dành cho hệ thống khác đọc dữ liệu qua API, không đăng nhập vào trang.":
        "This account is for another system reading through the API; it does not log in to the pages.",
    "hệ thống khác (chỉ đọc qua API)": "another system (reads the API only)",
    "tài khoản của hệ thống khác (chỉ dùng API)": "another system's account (API only)",
    "(chờ loa xác nhận)": "(waiting for the cluster to confirm)",
    "Các lượt phát khác của bản tin này:": "This bulletin's other broadcasts:",
    "Khoảng cách giữa hai lần phát phải là một số từ 1 đến 120 phút.":
        "The time between two plays must be a number from 1 to 120 minutes.",
    "Lịch lặp lại hằng tuần không có “phát lúc”: hãy bỏ trống ô đó hoặc bỏ chọn lặp lại.":
        "A weekly schedule has no single time: leave that field empty or untick the weekly repeat.",
    "Số lần phát lại phải là một số từ 1 đến 10.": "The number of plays must be a number from 1 to 10.",
    "Đã bật lại %(device)s; đang chờ loa xác nhận.": "Switched %(device)s back on; waiting for it to confirm.",
    "Đã tắt %(device)s: chỉ còn phát khẩn cấp; đang chờ loa xác nhận.":
        "Switched %(device)s off: only emergencies will play; waiting for it to confirm.",
    "Đã đặt âm lượng %(volume)s%% cho %(device)s; đang chờ loa xác nhận.":
        "Set the volume of %(device)s to %(volume)s%%; waiting for it to confirm.",
    "Các mục": "Sections",
    "Mục chính": "Main sections",
    "Mục khác": "More",
    "Yêu cầu không hợp lệ": "Bad request",
    "Không tìm thấy trang": "Page not found",
    "Không làm được việc này ở đây": "This cannot be done here",
    "Tệp quá lớn": "File too large",
    "Máy chủ gặp lỗi": "Server error",
    "Máy chủ không hiểu yêu cầu này.": "The server did not understand this request.",
    "Địa chỉ này không có, hoặc nằm ngoài địa bàn của bạn.":
        "There is nothing at this address, or it is outside your areas.",
    "Trang này không nhận cách gửi này; hãy quay lại và dùng nút trên trang.":
        "This page does not take this kind of request; go back and use the page's buttons.",
    "Tệp gửi lên lớn quá mức máy chủ nhận.": "The file sent is larger than the server accepts.",
    "Đã ghi lại lỗi để người quản trị xem. Việc vừa làm chưa được lưu; xin thử lại sau ít phút.":
        "The error was logged for the administrator. What you just did was not saved; please try again in a few "
        "minutes.",
    "Mã lỗi: %(code)s": "Error code: %(code)s",
    "Máy chưa chắc cách đọc “%(text)s”. Chọn cách đúng để lưu vào từ điển của xã:":
        "The machine is not sure how to read “%(text)s”. Choose the right reading to save it in the commune's "
        "dictionary:",
    "Đã lưu vào từ điển của xã: “%(text)s” đọc là “%(reading)s”.":
        "Saved in the commune's dictionary: “%(text)s” is read “%(reading)s”.",
    "Không lưu được vào từ điển của xã.": "Could not save it in the commune's dictionary.",
    " Những từ máy chưa nghe rõ được tô màu bên dưới.": " The words it did not catch are marked below.",
    " (giọng đã chọn không dùng được trên máy chủ, nên dùng giọng này)":
        " (the chosen voice cannot speak on this server, so this one reads instead)",
    "đọc bằng giọng %(voice)s": "read by the voice %(voice)s",
    "Giọng đọc": "Voice",
    "Giọng mặc định của xã: %(label)s": "The commune's default voice: %(label)s",
    "chưa cài trên máy chủ": "not installed on the server",
    "Máy chủ chỉ có giọng máy (espeak-ng): người nghe khó hiểu. Để có giọng đọc tự nhiên, người quản trị máy chủ "
    "chạy một lệnh:":
        "The server has only the robotic voice (espeak-ng), which listeners find hard to understand. For a "
        "natural voice, the server's administrator runs one command:",
    "Giọng mặc định của xã (%(label)s) không dùng được trên máy chủ: %(problem)s. Thông báo sẽ được đọc bằng "
    "giọng máy.":
        "The commune's default voice (%(label)s) cannot speak on the server: %(problem)s. Announcements will be "
        "read by the robotic voice.",
    "%(n)s trên %(total)s cụm loa đang phát": "%(n)s of %(total)s clusters playing",
    "Bạn không có quyền phát trực tiếp; hãy nhờ lãnh đạo hoặc người vận hành.":
        "You may not speak live; ask a leader or an operator.",
    "BẮT ĐẦU NÓI": "START SPEAKING",
    "Dài nhất (phút)": "Longest (minutes)",
    "DỪNG": "STOP",
    "Không bắt đầu được buổi phát trực tiếp.": "The live broadcast could not start.",
    "Không mở được micrô: hãy cho phép trang dùng micrô rồi bấm lại.":
        "The microphone could not be opened: allow the page to use it, then press again.",
    "Không tìm thấy buổi phát này.": "This broadcast was not found.",
    "Khử tiếng vọng": "Echo cancellation",
    "Lọc tiếng ồn": "Noise suppression",
    "Mất kết nối tới máy chủ: buổi phát đã dừng.": "The connection to the server was lost: the broadcast stopped.",
    "Một buổi phát trực tiếp khác đang phát trên một số cụm loa này; hãy dừng buổi đó trước.":
        "Another live broadcast is on some of these clusters; stop it first.",
    "Nói vào micrô của máy này: các cụm loa đã chọn phát ngay lời bạn nói. Trên điện thoại, hãy cho phép trang dùng "
    "micrô.": "Speak into this device's microphone: the chosen clusters play what you say at once. On a phone, allow "
              "the page to use the microphone.",
    "Phát trực tiếp": "Speak live",
    "Thông thường và ưu tiên: chỉ trong giờ cho phép. Khẩn cấp: phát ngay, ngắt mọi nội dung đang phát.":
        "Normal and priority: within the allowed hours only. Emergency: at once, cutting off whatever plays.",
    "Thời gian:": "Time:",
    "Thời lượng tối đa phải từ 1 đến 240 phút.": "The longest length must be 1 to 240 minutes.",
    "Tiêu đề (để báo cáo)": "Title (for the reports)",
    "Trình duyệt chỉ cho dùng micrô trên trang an toàn (https://): hãy mở trang bằng địa chỉ https của đài.":
        "Browsers give the microphone to secure pages only (https://): open the station's https address.",
    "Trình duyệt này không mã hóa được âm thanh; hãy dùng Chrome, Edge, Firefox hoặc Safari bản mới.":
        "This browser cannot encode audio; use a recent Chrome, Edge, Firefox or Safari.",
    "Tự chỉnh độ to": "Automatic gain",
    "Xử lý âm thanh của trình duyệt (tắt khi dùng micrô rời hoặc dây nối)":
        "The browser's audio processing (off for a separate microphone or a line-in)",
    "ĐANG PHÁT TRỰC TIẾP: hãy nói.": "ON AIR: speak now.",
    "Đang kết nối…": "Connecting…",
    "Đây không phải buổi phát trực tiếp.": "This is not a live broadcast.",
    "Đã dừng phát trực tiếp.": "The live broadcast has stopped.",
    "Độ to micrô": "Microphone level",
    "đang phát trực tiếp": "live now",
    "Tốc độ đọc": "Reading speed",
    "Phát trực tiếp do %(speaker)s nói": "Spoken live by %(speaker)s",
    "Máy nghe được:": "The recognizer heard:",
    "Giọng đọc của địa bàn": "Voices of the areas",
    "Bản tin không chọn giọng được đọc bằng giọng của xã; xã không chọn thì theo địa bàn trên, rồi theo máy chủ.":
        "A bulletin that chose no voice is read by its commune's voice; a commune that chose none follows the area "
        "above it, then the server.",
    "Giọng đọc: %(voice)s · tốc độ: %(speed)s": "Voice: %(voice)s · speed: %(speed)s",
    "Chậm": "Slow",
    "Hơi chậm": "A little slow",
    "Bình thường": "Normal",
    "Hơi nhanh": "A little fast",
    "Nhanh": "Fast",
    "Giọng đọc này không có trên máy chủ; hãy chọn giọng khác.": "This voice is not on the server; choose another.",
    "Tốc độ đọc phải từ 0,7 đến 1,5 lần.": "The reading speed must be from 0.7 to 1.5 times.",
    "%(device)s: %(rule)s %(limit)s, lượt này %(value)s": "%(device)s: %(rule)s %(limit)s, this one %(value)s",
    "%(device)s: trùng với #%(id)s “%(title)s” (%(when)s)": "%(device)s: overlaps #%(id)s “%(title)s” (%(when)s)",
    "(sẽ phải duyệt lại)": "(it will need approval again)",
    "(đã hết)": "(over)",
    "Ampli": "Amplifier",
    "Báo cáo": "Reports",
    "Báo cáo phát thanh": "Broadcast report",
    "Bạn không thể tự duyệt bản tin của mình; cần một người duyệt khác.":
        "You cannot approve your own bulletin; another approver must.",
    "Bản tin": "Bulletins",
    "Bản tin #%(id)s": "Bulletin #%(id)s",
    "Bản tin chưa được duyệt.": "The bulletin is not approved.",
    "Bản tin không ở trạng thái cho phép việc này.": "The bulletin's state does not allow this.",
    "Bản đọc sẽ phát (%(seconds)s giây)": "What will air (%(seconds)s seconds)",
    "Bản đồ": "Map",
    "Bắt đầu (thiết bị)": "Started (device)",
    "CN": "Sun",
    "Chi tiết": "Details",
    "Chưa có bản tin nào.": "No bulletins yet.",
    "Chưa có cụm loa nào.": "No loudspeaker clusters yet.",
    "Chưa có từ nào.": "No words yet.",
    "Chưa kiểm tra nghe: %(problem)s": "Not checked by ear: %(problem)s",
    "Chờ duyệt": "Awaiting approval",
    "Cách nhau (phút)": "Minutes apart",
    "Cách đọc": "Reading",
    "Cách đọc phải viết bằng chữ, không có chữ số.": "The reading must be words, without digits.",
    "Có cụm loa hoặc địa bàn ngoài phạm vi của bạn.": "A cluster or area is outside your areas.",
    "Có cụm loa không tồn tại.": "A cluster does not exist.",
    "Cảnh báo": "Alarms",
    "Cụm loa": "Clusters",
    "Cụm loa (%(n)s)": "Loudspeaker clusters (%(n)s)",
    "Cụm loa (không chọn: tất cả)": "Clusters (none chosen: all)",
    "Hệ thống tạm thời không đọc được cơ sở dữ liệu. Xin thử lại sau ít phút; không có gì bị mất.":
        "The system cannot reach its database for the moment. Please try again in a few minutes; nothing is lost.",
    "Duyệt": "Approve",
    "Duyệt và phát": "Approve and broadcast",
    "Dừng lượt phát này trên mọi cụm loa?": "Stop this broadcast on every cluster?",
    "Dừng phát": "Stop",
    "Dự kiến": "Planned",
    "Ghi chú duyệt": "Review note",
    "Giám sát": "Dashboard",
    "Giám sát cụm loa": "Cluster dashboard",
    "Giờ phát (cách nhau bằng dấu phẩy, ví dụ 06:30, 17:00)": "Times (separated by commas, e.g. 06:30, 17:00)",
    "Gửi duyệt": "Send for approval",
    "Hãy chọn cụm loa.": "Choose clusters.",
    "Hãy nhập cả từ và cách đọc.": "Enter both the word and its reading.",
    "Hãy nhập tiêu đề và chọn tệp ghi âm.": "Enter a title and choose a recording.",
    "In": "Print",
    "KHẨN CẤP": "EMERGENCY",
    "Không có cảnh báo.": "No alarms.",
    "Không có lượt phát nào trong thời gian này.": "Nothing was planned in this period.",
    "Hiện %(shown)s trong %(total)s lượt phát; tải tệp CSV để có tất cả.":
        "Showing %(shown)s of %(total)s plays; download the CSV for all of them.",
    "Không phát được": "Not played",
    "Không tạo được âm thanh cho nội dung này.": "This text could not be turned into audio.",
    "Không tạo được âm thanh.": "The audio could not be made.",
    "Không được phát: %(line)s": "Not allowed: %(line)s",
    "Không được phép": "Not allowed",
    "Khẩn cấp": "Emergency",
    "Kiểm tra giờ phát": "Check the time",
    "Kiểm tra nghe: máy nghe hiểu %(n)s%% số từ": "Listening check: the machine understood %(n)s%% of the words",
    "Kết thúc": "Ended",
    "Kết thúc (thiết bị)": "Ended (device)",
    "Lên lịch": "Schedule",
    "Lên lịch phát": "Schedule it",
    "Lúc": "When",
    "Lưu": "Save",
    "Lượt phát #%(id)s": "Broadcast #%(id)s",
    "Lượt phát gần đây": "Recent broadcasts",
    "Lần cuối": "Last heard",
    "Lặp lại hằng tuần": "Repeat every week",
    "Lịch lặp lại không hợp lệ.": "The weekly schedule is not valid.",
    "Lọc:": "Filter:",
    "Lỗi": "Error",
    "Máy chưa nghe rõ từ này": "The machine did not catch this word",
    "Máy nghe hiểu %(percent)s số từ.": "The machine understood %(percent)s of the words.",
    "Máy sẽ đọc:": "It will be read as:",
    "Mã": "Id",
    "Mã ngôn ngữ không hợp lệ (ví dụ: vi, hmn, tay, km).": "Not a language code (e.g. vi, hmn, tay, km).",
    "Mất kết nối tới máy chủ; hãy thử lại.": "The server cannot be reached; try again.",
    "Mẫu thông báo": "Template",
    "Mẫu thông báo không có.": "No such template.",
    "Mật khẩu": "Password",
    "Một thông báo đã ghi sẵn, bằng bất kỳ ngôn ngữ nào (tiếng dân tộc thiểu số cũng được). Bản ghi cũng phải "
    "được duyệt trước khi phát.":
        "A recorded announcement, in any language (ethnic-minority languages too). A recording is approved "
        "before it airs, like text.",
    "Mức ưu tiên": "Priority",
    "Mức ưu tiên không hợp lệ.": "Not a priority.",
    "Nghe thử": "Listen first",
    "Ngoài khung giờ cho phép phát:": "Outside the allowed air time:",
    "Ngôn ngữ": "Language",
    "Ngôn ngữ khác (mã, ví dụ: khb)": "Another language (code, e.g. khb)",
    "Người": "Who",
    "Nhiệt độ": "Temperature",
    "Nhật ký": "Audit log",
    "Nhật ký thao tác": "Audit log",
    "Nội dung": "Text",
    "Nội dung có ký tự không hợp lệ.": "The text has a character that is not allowed.",
    "Nội dung không có chữ nào để đọc.": "The text has nothing to read aloud.",
    "PHÁT KHẨN CẤP": "BROADCAST EMERGENCY",
    "Phiên làm việc đã hết hạn, vui lòng tải lại trang (CSRF).": "The session has expired; reload the page (CSRF).",
    "Phát KHẨN CẤP ngay bây giờ trên các cụm loa đã chọn?": "Broadcast an EMERGENCY now on the chosen clusters?",
    "Phát khẩn cấp": "Emergency broadcast",
    "Phát lúc (để trống: phát ngay)": "Play at (empty: now)",
    "Phát ngay trên mọi cụm loa đã chọn, ngắt mọi nội dung đang phát, kể cả ngoài giờ cho phép.":
        "Plays at once on every chosen cluster, cutting off whatever plays, even outside the allowed hours.",
    "Phát thông báo": "Announce",
    "Phát ở đâu (không chọn: mọi cụm loa của bạn)": "Where (none chosen: all your clusters)",
    "Phút phát": "Minutes on air",
    "Sai tên đăng nhập hoặc mật khẩu.": "Wrong user name or password.",
    "Sóng": "Link",
    "Số lần phát": "Times to play",
    "Sửa bản tin": "Edit the bulletin",
    "T2": "Mon", "T3": "Tue", "T4": "Wed", "T5": "Thu", "T6": "Fri", "T7": "Sat",
    "Theo thôn": "By village",
    "Thêm": "Add",
    "Thôn": "Village",
    "Thông thường": "Normal",
    "Thời gian phát (để trống: phát ngay)": "Play at (empty: now)",
    "Thời gian phát không hợp lệ.": "Not a valid time.",
    "Thời gian phát đã qua; hãy chọn thời điểm sắp tới hoặc để trống để phát ngay.":
        "That time has passed; choose a coming time or leave it empty to play now.",
    "Tiêu đề": "Title",
    "Tiêu đề hoặc nội dung quá dài.": "The title or text is too long.",
    "Tiếng Ba Na": "Bahnar", "Tiếng Chăm": "Cham", "Tiếng Gia Rai": "Jarai", "Tiếng Hmông": "Hmong",
    "Tiếng Khmer": "Khmer", "Tiếng Mường": "Muong", "Tiếng Nùng": "Nung", "Tiếng Tày": "Tay",
    "Tiếng Việt": "Vietnamese", "Tiếng Ê Đê": "Rade (Ê Đê)",
    "Trang chính": "Home",
    "Trùng giờ: %(line)s": "Overlap: %(line)s",
    "Trạng thái": "State",
    "Trạng thái:": "State:",
    "Trả lại": "Send back",
    "Tài khoản của bạn không có quyền làm việc này.": "Your account is not allowed to do this.",
    "Tài khoản tạm khóa do nhập sai mật khẩu nhiều lần. Hãy thử lại sau 15 phút hoặc nhờ quản trị viên mở khóa.":
        "The account is locked after too many wrong passwords. Try again in 15 minutes or ask an admin to unlock "
        "it.",
    "Tên": "Name",
    "Tên đăng nhập": "User name",
    "Tên địa phương và chữ viết tắt được đọc theo cách của xã, trước từ điển có sẵn.":
        "Local names and abbreviations, read the commune's way, before the built-in dictionary.",
    "Tìm trong nội dung": "Search the text",
    "Tạo lúc": "Created",
    "Tải CSV": "Download CSV",
    "Tải lên": "Upload",
    "Tải lên bản ghi âm": "Upload a recording",
    "Tất cả": "All",
    "Tệp ghi âm (MP3, WAV, M4A, AMR, OGG…)": "Recording (MP3, WAV, M4A, AMR, OGG…)",
    "Từ": "Word",
    "Từ hoặc chữ viết tắt": "Word or abbreviation",
    "Từ hoặc cách đọc quá dài.": "The word or reading is too long.",
    "Từ ngày": "From",
    "Từ này đã có trong từ điển.": "This word is already in the dictionary.",
    "Từ điển của xã": "Commune dictionary",
    "Từ địa chỉ": "From address",
    "Việc": "Action",
    "Vui lòng nhập đầy đủ tiêu đề và nội dung.": "Enter both a title and the text.",
    "Về trang chính": "Back home",
    "Xem": "Show",
    "Xóa": "Delete",
    "bản ghi âm (%(language)s, %(seconds)s giây)": "recording (%(language)s, %(seconds)s seconds)",
    "bật": "on",
    "bị ngắt": "interrupted",
    "bị trả lại": "sent back",
    "chưa nghe rõ:": "not caught:",
    "chờ duyệt": "awaiting approval",
    "giờ cho phép": "allowed hours",
    "lỗi": "failed",
    "lỡ giờ": "missed",
    "mất kết nối": "offline",
    "mất kết nối, đang thử lại…": "disconnected, retrying…",
    "ngay": "now",
    "nháp": "draft",
    "phát lúc:": "plays at:",
    "trực tiếp": "live",
    "trực tuyến": "online",
    "tất cả": "all",
    "tắt": "off",
    "tối đa phút mỗi lần phát": "longest broadcast (min)",
    "tối đa số lần phát mỗi ngày": "most broadcasts a day",
    "Âm lượng": "Volume",
    "Ý kiến (bắt buộc khi trả lại)": "Comment (required to send back)",
    "Ý kiến duyệt:": "Reviewer's note:",
    "Đang kiểm tra…": "Checking…",
    "Đang phát / vừa phát": "Playing / last played",
    "Đang tạo âm thanh…": "Making the audio…",
    "Đài truyền thanh xã": "Commune radio",
    "Đã biết": "Acknowledge",
    "Đã gửi bản tin để lãnh đạo duyệt.": "Sent to the leader for approval.",
    "Đã phát": "Played",
    "Đã phát khẩn cấp: %(n)s lượt.": "Emergency sent: %(n)s play(s).",
    "Đăng nhập": "Log in",
    "Đăng xuất": "Log out",
    "Được phép phát trên %(count)s cụm loa; không trùng với lượt nào.":
        "Allowed on %(count)s cluster(s); it overlaps nothing.",
    "Đặt": "Set",
    "Đến ngày": "To",
    "Đến ngày (để trống: không hạn)": "Until (empty: no end)",
    "Địa bàn": "Area",
    "Địa bàn (không chọn: mọi cụm loa của bạn)": "Areas (none chosen: all your clusters)",
    "Đối tượng": "Target",
    "đang chờ": "pending",
    "đang dừng": "stopping",
    "đang kết nối…": "connecting…",
    "đang phát": "playing",
    "đang phát #%(id)s": "playing #%(id)s",
    "đang xử lý": "processing",
    "đã duyệt": "approved",
    "đã dừng": "stopped",
    "đã gửi": "sent",
    "đã hủy": "cancelled",
    "đã kết thúc": "ended",
    "đã nhận": "delivered",
    "đã phát": "played",
    "Ưu tiên": "Priority",
    "— tự soạn —": "— write my own —",
    "← Trang chính": "← Home",
    "Cấp": "Level",
    "Giờ cho phép": "Allowed hours",
    "Giờ cho phép theo giờ địa phương; quy định của địa bàn gần nhất phía trên áp dụng cho các cụm loa bên dưới. "
    "Phát khẩn cấp không bị giới hạn.":
        "Allowed hours are local time; the nearest area above with a rule governs the clusters below it. "
        "Emergencies are never limited.",
    "Huyện": "District",
    "Mật khẩu (ít nhất 10 ký tự)": "Password (at least 10 characters)",
    "Mở khóa": "Unlock",
    "Người dùng": "Users",
    "Thuộc": "Under",
    "Thêm người dùng": "Add a user",
    "Thêm địa bàn": "Add an area",
    "Tỉnh": "Province",
    "Tối đa lần mỗi ngày": "Most broadcasts a day",
    "Tối đa phút mỗi lần": "Longest broadcast (min)",
    "Vai trò": "Roles",
    "Vai trò và địa bàn": "Roles and areas",
    "Xã": "Commune",
    "biên tập": "editor",
    "duyệt (lãnh đạo)": "approver (leader)",
    "mặc định": "default",
    "quản trị": "admin",
    "theo địa bàn trên": "from the area above",
    "từ": "from",
    "vận hành": "operator",
    "Địa bàn và giờ phát": "Areas and air time",
    "đang bị khóa": "locked",
    "đã lên lịch": "scheduled",
    "Nhóm": "Group",
    "Nhóm cụm loa": "Groups of clusters",
    "Một nhóm (ví dụ: loa chợ, loa trường học) là một nơi nhận khi lên lịch hoặc phát khẩn cấp.":
        "A group (e.g. the market's loudspeakers, the schools') is a target when scheduling or in an emergency.",
    "Chưa có nhóm nào.": "No groups yet.",
    "Tên nhóm": "Group name",
    "đã tắt": "switched off",
    "Bật": "Switch on",
    "Tắt": "Switch off",
    "Tắt cụm loa này? Chỉ còn phát khẩn cấp.": "Switch this cluster off? Only emergencies will play.",
    "Bật lại cụm loa này?": "Switch this cluster back on?",
    "Chương trình phát": "Programme",
    "Các bản tin đã duyệt phát nối tiếp nhau trong một buổi, theo thứ tự dưới đây; giờ cho phép tính cho cả buổi.":
        "Approved bulletins played back to back in one session, in the order below; the air-time rules count the "
        "whole session.",
    "Tên chương trình": "Programme title",
    "Mục": "Item",
    "Lên chương trình nhiều bản tin": "Schedule a programme of several bulletins",
    "Hãy chọn ít nhất một bản tin đã duyệt cho chương trình.": "Choose at least one approved bulletin.",
    "Địa chỉ tiếp sóng phải bắt đầu bằng http:// hoặc https://, trong 1 đến 1440 phút.":
        "The relay address must start with http:// or https://, for 1 to 1440 minutes.",
    "Từ ngày (để trống: hôm nay)": "From (empty: today)",
    "Trừ các ngày (năm-tháng-ngày, cách nhau bằng dấu phẩy)": "Except on (year-month-day, separated by commas)",
    "Tiếp sóng đài (tùy chọn)": "Relay a station (optional)",
    "Phát luồng trực tiếp của đài trong khoảng thời gian này; nếu không mở được luồng, loa phát bản tin này thay "
    "thế.": "Plays the station's live stream for this long; if the stream cannot be opened, this bulletin plays "
            "instead.",
    "Địa chỉ luồng (http:// hoặc https://)": "Stream address (http:// or https://)",
    "Trong (phút)": "For (minutes)",
    "đến": "to",
    # CAP alerts (the emergency page's CAP section, an alert's page, the CAP settings page)
    "%(n)s cụm loa": "%(n)s cluster(s)",
    "Bạn không có quyền làm việc này.": "You are not allowed to do this.",
    "Bản tin tiếng Việt sẽ phát": "The Vietnamese announcement to air",
    "Bảng quy đổi không hợp lệ: dòng cuối phải bao gồm mọi giá trị.":
        "The mapping table is not valid: its last row must hold every value.",
    "Bảng quy đổi mức độ": "Mapping table of severity levels",
    "Bắt buộc có chữ ký số hợp lệ": "Require a valid digital signature",
    "Bỏ": "Remove",
    "Cho phát cảnh báo": "Air the alert",
    "Chu kỳ kiểm tra phải từ 30 giây đến một ngày.": "The polling interval must be 30 seconds to one day.",
    "Chính sách không hợp lệ (bắt buộc chữ ký thì cần chứng thư).":
        "The policy is not valid (requiring signatures needs a certificate).",
    "Chưa gắn mã vùng nào.": "No geocodes mapped yet.",
    "Chưa khai báo nơi phát nào.": "No issuers set up yet.",
    "Chưa nhận cảnh báo nào.": "No alerts received yet.",
    "Chưa đăng ký nguồn tin nào.": "No feeds subscribed yet.",
    "Chỉ ghi nhận, không phát": "Recorded, not aired",
    "Chờ đến %(when)s mới phát (giờ được phép phát, hoặc giờ cảnh báo có hiệu lực).":
        "Waits until %(when)s to air (the allowed hours, or the time the alert takes effect).",
    "Chờ đến giờ được phép phát": "Waiting for the allowed hours",
    "Chứng thư hoặc khóa công khai tin cậy (PEM)": "Trusted certificates or public keys (PEM)",
    "Chứng thư không đọc được (cần dạng PEM).": "The certificate cannot be read (PEM is needed).",
    "Chữ ký số": "Digital signature",
    "Chữ ký số không khớp với chứng thư tin cậy của nơi phát: cảnh báo có thể đã bị sửa.":
        "The digital signature does not match the issuer's trusted certificates: the alert may have been altered.",
    "Cảnh báo CAP": "CAP alerts",
    "Cảnh báo CAP thiếu hoặc sai thông tin bắt buộc.": "The CAP alert lacks required information or has it wrong.",
    "Cảnh báo CAP từ cơ quan cảnh báo": "CAP alerts from warning centres",
    "Cảnh báo CAP: cài đặt": "CAP alerts: settings",
    "Cảnh báo của nơi phát này chỉ phát khi người có thẩm quyền cho phát.":
        "This issuer's alerts air only once someone authorised releases them.",
    "Cảnh báo ghi vùng bằng mã (geocode): gắn mã với địa bàn của bạn để cảnh báo tới đúng cụm loa.":
        "Alerts name places by code (geocode): map each code to your area so that the alert reaches the right "
        "clusters.",
    "Cảnh báo không có tiếng Việt: cần cán bộ soạn bản tin để phát.":
        "The alert has no Vietnamese text: an officer must write the announcement to air.",
    "Cảnh báo không có tiếng Việt: máy đã soạn bản tin tiếng Việt từ loại sự việc, mức độ, địa bàn và thời gian; "
    "bản gốc được lưu để cán bộ xem.":
        "The alert has no Vietnamese text: a Vietnamese announcement was built from its event, severity, areas and "
        "times; the original is kept for the officers.",
    "Cảnh báo này không còn đang giữ.": "This alert is no longer held.",
    "Cảnh báo đã hết hiệu lực khi đến: chỉ ghi nhận.": "The alert had expired when it arrived: recorded only.",
    "Cảnh báo đã hết hiệu lực.": "The alert has expired.",
    "Cảnh báo đã nhận": "Alerts received",
    "Dòng %(n)s": "Row %(n)s",
    "Dùng bảng mặc định": "Use the default table",
    "Giữ chờ người có thẩm quyền cho phát": "Hold until someone authorised releases it",
    "Gắn mã": "Map the code",
    "Gửi lúc": "Sent at",
    "Hãy chọn một địa bàn của bạn.": "Choose one of your areas.",
    "Hãy chọn tệp cảnh báo CAP hoặc dán nội dung XML.": "Choose a CAP alert file or paste its XML.",
    "Hãy nhập địa chỉ nơi phát (sender), mỗi dòng một địa chỉ.": "Enter the issuer's sender values, one per line.",
    "Khi không có nội dung tiếng Việt": "When there is no Vietnamese text",
    "Không có cụm loa nào của bạn trong vùng cảnh báo.": "None of your clusters is in the alert's area.",
    "Không dành cho công chúng: không phát trên loa công cộng.":
        "Not meant for the public: not aired on public loudspeakers.",
    "Không khớp với địa bàn nào của bạn": "Matched none of your areas",
    "Không phát": "Do not air",
    "Không phải tin thật (tin thử, diễn tập, tin hệ thống, bản nháp): chỉ ghi nhận.":
        "Not an actual alert (a test, an exercise, a system message, a draft): recorded only.",
    "Khớp với": "Matched",
    "Kiểm tra mỗi (giây)": "Poll every (seconds)",
    "Loại mã (valueName)": "Kind of code (valueName)",
    "Lưu bảng": "Save the table",
    "Mã (value)": "Code (value)",
    "Mã vùng này đã gắn với địa bàn đó.": "This code is already mapped to that area.",
    "Mã vùng trong cảnh báo": "Geocodes in alerts",
    "Mỗi dòng: nếu mức khẩn (urgency), mức nghiêm trọng (severity) và mức chắc chắn (certainty) của cảnh báo đều "
    "nằm trong các ô đã chọn (không chọn ô nào: mọi giá trị), cảnh báo phát ở mức ưu tiên của dòng đó. Dòng đầu "
    "tiên khớp được dùng; dòng cuối phải khớp mọi cảnh báo.":
        "Each row: when the alert's urgency, severity and certainty are all among the boxes ticked (none ticked: "
        "any value), the alert airs at that row's priority. The first row that fits is used; the last row must fit "
        "every alert.",
    "Mức phát": "Priority",
    "Nguồn tin cảnh báo (Atom, RSS)": "Alert feeds (Atom, RSS)",
    "Nguồn tin này đã được đăng ký.": "This feed is already subscribed.",
    "Nhận cảnh báo": "Take the alert",
    "Nơi phát": "Issuer",
    "Nơi phát cảnh báo": "Alert issuers",
    "Nơi phát này bắt buộc có chữ ký số, nhưng cảnh báo không có.":
        "This issuer requires a digital signature, and the alert has none.",
    "Nơi phát đã hủy, không phát": "Cancelled by the issuer, not aired",
    "Nơi phát được nhận ra theo địa chỉ sender của cảnh báo (một địa chỉ mỗi dòng; @tên-miền cho cả tên miền; * "
    "cho mọi nơi phát khác). Nơi phát chưa khai báo: nhận cả cảnh báo không có chữ ký, phát ngay, tự soạn bản tin "
    "tiếng Việt.":
        "An issuer is recognised by the alert's sender (one per line; @domain for a whole domain; * for every other "
        "issuer). Issuers not set up: unsigned alerts accepted, aired at once, a Vietnamese announcement built.",
    "Nơi phát, nguồn tin, bảng quy đổi mức độ và mã vùng": "Issuers, feeds, the mapping table and geocodes",
    "Nội dung gốc của cảnh báo": "The alert's original text",
    "Phát bản ghi âm kèm theo cảnh báo.": "Airs the recording that came with the alert.",
    "Sẽ hết hiệu lực trước giờ được phép phát: chỉ ghi nhận.":
        "It would expire before the allowed hours: recorded only.",
    "Sửa": "Edit",
    "Sự việc": "Event",
    "Sự việc đã qua hoặc khó xảy ra: chỉ ghi nhận.": "The event is over or unlikely: recorded only.",
    "Theo chính sách của nơi phát": "Under the policy of the issuer",
    "Thêm nơi phát": "Add an issuer",
    "Tin hủy: đã dừng các cảnh báo mà nó hủy.": "A cancellation: the alerts it cancels were stopped.",
    "Tin thử, dù ghi là tin thật: chỉ ghi nhận.": "A test, although it says it is actual: recorded only.",
    "Tin xác nhận hoặc báo lỗi: không có gì để phát.": "An acknowledgement or an error: nothing to air.",
    "Trùng tên nhiều địa bàn (không phát tới)": "Fits several areas (not aired there)",
    "Tên địa bàn trong cảnh báo trùng với nhiều địa bàn của bạn; hãy ghi rõ xã, huyện.":
        "An area name in the alert fits several of your areas; name the commune and district too.",
    "Tải lên tệp cảnh báo CAP (1.0, 1.1 hoặc 1.2) hoặc dán nội dung XML. Máy kiểm tra hiệu lực, chữ ký số, địa bàn "
    "và ngôn ngữ, rồi phát, giữ chờ cán bộ hoặc chỉ ghi nhận, và cho biết vì sao.":
        "Upload a CAP alert file (1.0, 1.1 or 1.2) or paste its XML. Its validity, signature, areas and language are "
        "checked; it then airs, is held for an officer, or is only recorded, and you are told why.",
    "Tệp chứa nhiều cảnh báo; hãy gửi từng cảnh báo một.": "The file holds several alerts; send them one at a time.",
    "Tệp cảnh báo (.xml, .cap)": "Alert file (.xml, .cap)",
    "Tệp không phải XML hợp lệ (bị hỏng hoặc bị cắt).": "The file is not well-formed XML (damaged or cut short).",
    "Tệp không phải cảnh báo CAP.": "The file is not a CAP alert.",
    "Tệp quá lớn.": "The file is too large.",
    "Về trang khẩn cấp": "Back to the emergency page",
    "bản ghi âm": "recording",
    "bản tin máy soạn": "built announcement",
    "bắt buộc chữ ký": "signature required",
    "chưa kiểm tra": "not polled yet",
    "chờ cán bộ soạn": "awaiting an officer's text",
    "chứng thư": "certificates",
    "có lỗi": "failing",
    "cảnh báo đã nhận": "alerts taken",
    "giữ chờ cán bộ soạn": "hold for an officer to write it",
    "giữ chờ duyệt": "held for release",
    "hoạt động tốt": "healthy",
    "hoặc dán nội dung XML": "or paste its XML",
    "hết hiệu lực": "expires",
    "không có tiếng Việt: giữ chờ cán bộ soạn": "no Vietnamese text: held for an officer",
    "không có tiếng Việt: máy soạn bản tin": "no Vietnamese text: announcement built",
    "không kiểm được (chưa có chứng thư tin cậy, hoặc không có chữ ký)":
        "not verified (no trusted certificate, or no signature)",
    "lần thành công cuối": "last success",
    "máy soạn bản tin tiếng Việt": "build a Vietnamese announcement",
    "mã": "identifier",
    "mục trong nguồn": "entries",
    "nhận cả không chữ ký": "unsigned accepted",
    "nội dung tiếng Việt": "Vietnamese text",
    "phát lúc": "airs at",
    "phát ngay": "aired at once",
    "theo địa chỉ sender của từng cảnh báo": "by each alert's sender",
    "thêm dòng mới": "new row",
    "Đang dùng bảng mặc định.": "The default table is in use.",
    "Đang giữ, chờ cán bộ": "Held for an officer",
    "Đã cho phát cảnh báo: %(n)s lượt.": "The alert airs: %(n)s play(s).",
    "Đã dừng": "Stopped",
    "Đã dừng cảnh báo cũ": "Stopped the earlier alert",
    "Đã nhận cảnh báo này trước đó.": "This alert was received before.",
    "Đã phát (cán bộ cho phát)": "Aired (released by an officer)",
    "Đăng ký": "Subscribe",
    "Địa chỉ nguồn tin": "Feed address",
    "Địa chỉ nguồn tin phải bắt đầu bằng http:// hoặc https://.": "A feed address starts with http:// or https://.",
    "Địa chỉ sender (mỗi dòng một)": "Sender values (one per line)",
    "Đọc nội dung tiếng Việt của cảnh báo.": "Reads the alert's Vietnamese text.",
    "để trống: giữ nguyên": "empty: keep them",
    "— bỏ dòng này —": "— drop this row —",
    # The calendar
    "Lịch phát": "Calendar",
    "Ngày": "Day",
    "Tuần": "Week",
    "Xem theo": "View by",
    "Tất cả địa bàn của tôi": "All my areas",
    "Tất cả cụm loa": "All clusters",
    "‹ Trước": "‹ Earlier",
    "Hôm nay": "Today",
    "Sau ›": "Later ›",
    "Ngày không hợp lệ; đang hiện tuần này.": "Not a valid date; showing this week.",
    "Giờ được phát: %(hours)s": "Allowed on air: %(hours)s",
    "Không có lượt phát nào.": "Nothing airs.",
    "Trùng giờ với “%(title)s” (%(start)s–%(end)s) trên %(clusters)s":
        "Overlaps “%(title)s” (%(start)s–%(end)s) on %(clusters)s",
    "%(n)s giây": "%(n)s s",
    "%(n)s phút": "%(n)s min",
    "chưa có báo cáo": "no report yet",
    "một lần": "once",
    "hằng tuần": "weekly",
    "tiếp sóng": "relay",
    "khẩn cấp": "emergency",
    # The public page of a commune
    "Trang công khai của xã": "The commune's public page",
    "Khi bật, ai cũng xem và nghe lại được những gì đã phát trên loa của xã (không cần đăng nhập), và nhận tin "
    "qua RSS.": "When on, anyone can read and listen again to what the commune's loudspeakers aired (no login), "
                "and follow it by RSS.",
    "Trang công khai": "Public page",
    "Công khai": "Public",
    "Đài truyền thanh %(name)s": "%(name)s radio",
    "Những gì đã phát trên loa của %(name)s.": "What the loudspeakers of %(name)s aired.",
    "Những gì đã phát trên loa của xã, mới nhất trước: nghe lại nếu bạn đã lỡ.":
        "What the commune's loudspeakers aired, newest first: listen again if you missed it.",
    "Nhận tin (RSS, podcast)": "Follow (RSS, podcast)",
    "Chưa có gì được phát.": "Nothing has aired yet.",
    "‹ Mới hơn": "‹ Newer",
    "Cũ hơn ›": "Older ›",
    "Trang %(n)s / %(total)s": "Page %(n)s of %(total)s",
    # Vietnamese conventions: refusals, stored texts said on the pages, the audit log, forms.
    '%(priority)s “%(title)s” tới %(n)s cụm loa': '%(priority)s “%(title)s” to %(n)s cluster(s)',
    '%(priority)s, tối đa %(minutes)s phút, tới %(n)s cụm loa: %(targets)s':
        '%(priority)s, up to %(minutes)s min, to %(n)s cluster(s): %(targets)s',
    '%(priority)s: bản ghi âm của cảnh báo CAP, phát ngay, không qua bước duyệt riêng':
        "%(priority)s: CAP alert's recording, sent without separate approval",
    '%(priority)s: phát ngay, không qua bước duyệt riêng': '%(priority)s: sent without separate approval',
    '%(rings)s vùng, %(points)s điểm': '%(rings)s ring(s), %(points)s points',
    '%(title)s: lượt phát %(ids)s': '%(title)s: broadcasts %(ids)s',
    '%(title)s; %(count)s lần, cách nhau %(every)s phút; lượt phát %(ids)s':
        '%(title)s; %(count)s play(s) every %(every)s min; broadcasts %(ids)s',
    '%(user)s đã dừng phát': 'stopped by %(user)s',
    '%(user)s đã dừng trước khi micrô kết nối': 'stopped by %(user)s before the microphone connected',
    '(hệ thống)': '(system)',
    'Bạn không thể tự bỏ quyền quản trị của mình.': 'You cannot take your own admin role away.',
    'Bản ghi âm được phát đúng như đã ghi; không sửa được như văn bản.':
        'A recording airs as recorded; it cannot be edited as text.',
    'Bật/tắt cụm loa': 'Cluster switched on/off',
    'Bắt đầu phát trực tiếp': 'Live broadcast started',
    'Bỏ lọc': 'Clear filters',
    'Bỏ mã vùng CAP': 'CAP area code removed',
    'Bỏ nguồn CAP': 'CAP feed removed',
    'Cho phát cảnh báo CAP': 'CAP alert released',
    'Chưa có gì để thay đổi.': 'Nothing to change.',
    'Chưa đúng dạng: %(format)s.': 'Not in the expected form: %(format)s.',
    'Chọn giọng đọc của địa bàn': "Area's voice chosen",
    'Chọn giờ': 'Choose a time',
    'Chọn ngày': 'Choose a date',
    'Cũ hơn →': 'Older →',
    'Cảnh báo CAP: chỉ ghi nhận': 'CAP alert: recorded only',
    'Cảnh báo CAP: chờ giờ phát': 'CAP alert: waiting for air time',
    'Cảnh báo CAP: đang giữ': 'CAP alert: held',
    'Cảnh báo CAP: đã dừng': 'CAP alert: stopped',
    'Cảnh báo CAP: đã hủy': 'CAP alert: cancelled',
    'Cảnh báo CAP: đã nhận trước đó': 'CAP alert: duplicate',
    'Cảnh báo CAP: đã phát': 'CAP alert: aired',
    'Cấp địa bàn không hợp lệ hoặc không thể nằm dưới địa bàn đã chọn.':
        'The level is not valid or cannot lie under the chosen area.',
    'Duyệt bản tin': 'Bulletin approved',
    'Dừng phát trực tiếp': 'Live broadcast stopped',
    'Ghi chú': 'Note',
    'Giá trị phải từ %(min)s trở lên.': 'The value must be %(min)s or more.',
    'Giá trị tối đa là %(max)s.': 'The value must be at most %(max)s.',
    'Gõ theo dạng %(format)s': 'Type it as %(format)s',
    'Gõ theo dạng %(format)s (24 giờ)': 'Type it as %(format)s (24 hours)',
    'Gắn mã vùng CAP': 'CAP area code added',
    'Hãy chọn một mục trong danh sách.': 'Choose an item in the list.',
    'Hãy chọn một tệp.': 'Choose a file.',
    'Hãy chọn tệp ghi âm.': 'Choose a recording file.',
    'Hãy chọn ít nhất một cụm loa cho nhóm.': 'Choose at least one cluster for the group.',
    'Hãy chọn ít nhất một vai trò.': 'Choose at least one role.',
    'Hãy ghi lý do trả lại để người viết biết cần sửa gì.':
        'Write why you send it back, so that the writer knows what to change.',
    'Hãy nhập một số.': 'Enter a number.',
    'Hãy nhập số nguyên.': 'Enter a whole number.',
    'Hãy nhập tên.': 'Enter a name.',
    'Hãy nhập ít nhất %(n)s ký tự.': 'Enter at least %(n)s characters.',
    'Hãy nhập địa chỉ.': 'Enter an address.',
    'Hãy điền mục còn trống.': 'Fill in the empty field.',
    'Hãy điền mục này.': 'Fill in this field.',
    'Hãy đánh dấu ô này nếu muốn tiếp tục.': 'Tick this box to go on.',
    'Khoảng thời gian chưa đúng: hãy gõ ngày dạng ngày/tháng/năm (ví dụ 02/12/2026), ngày cuối không '
    'trước ngày đầu, tối đa 366 ngày.':
        'The period is not right: type dates as day/month/year (e.g. 02/12/2026), the last not before the '
        'first, at most 366 days.',
    'Khung giờ phải dạng giờ:phút (24 giờ), giờ kết thúc sau giờ bắt đầu trong cùng ngày; số phút và số '
    'lần phải là số nguyên dương hoặc để trống (không giới hạn).':
        'Hours are hour:minute (24 hours), the end after the start on the same day; minutes and counts are '
        'positive whole numbers, or empty for no limit.',
    'Khóa tài khoản vì sai mật khẩu': 'Account locked after wrong passwords',
    'Không có thao tác nào khớp với bộ lọc.': 'No entry matches the filters.',
    'Không thực hiện được yêu cầu này.': 'This could not be done.',
    'Không tìm thấy mục này (có thể đã bị xóa hoặc ở ngoài địa bàn của bạn).':
        'Not found (it may have been deleted, or be outside your areas).',
    'Lên chương trình': 'Programme created',
    'Lý do trả lại quá dài (tối đa 2000 ký tự).': 'The reason is too long (at most 2000 characters).',
    'Lưu nhóm cụm loa': 'Group saved',
    'Lượt phát này đã kết thúc hoặc đã dừng; không còn gì để dừng.':
        'This broadcast has ended or was stopped; there is nothing left to stop.',
    'Lọc': 'Filter',
    'Mã cụm loa': 'Cluster id',
    'Mã lượt phát': 'Broadcast id',
    'Mật khẩu phải dài từ 10 đến 200 ký tự.': 'A password is 10 to 200 characters long.',
    'Mỗi người dùng (trừ quản trị) phải làm việc ở ít nhất một địa bàn.':
        'Every user but an admin works in at least one area.',
    'Một buổi phát trực tiếp khác đang phát trên các cụm loa này; hãy dừng nó trước.':
        'Another live broadcast is on air on these clusters; stop it first.',
    'Ngày chưa đúng dạng: hãy gõ ngày/tháng/năm, ví dụ 02/12/2026.':
        'The date is not in the expected form: type day/month/year, e.g. 02/12/2026.',
    'Ngày giờ chưa đúng dạng: hãy gõ ngày/tháng/năm giờ:phút theo 24 giờ, ví dụ 02/12/2026 21:43.':
        'The date and time are not in the expected form: type day/month/year hour:minute (24 hours), e.g. '
        '02/12/2026 21:43.',
    'Nội dung không hợp lệ.': 'The content is not valid.',
    'Nội dung quá dài.': 'The content is too long.',
    'Phát cảnh báo': 'Alert sent',
    'Quá nhiều lần đăng nhập sai từ địa chỉ này; hãy thử lại sau.':
        'Too many failed logins from this address; try again later.',
    'Số phút phát': 'Minutes played',
    'Sửa bảng mức ưu tiên CAP': 'CAP priority table changed',
    'Sửa người dùng': 'User changed',
    'Sửa nơi phát CAP': 'CAP issuer changed',
    'Sửa từ điển': 'Dictionary entry changed',
    'Thêm nguồn CAP': 'CAP feed added',
    'Thêm vào từ điển': 'Dictionary entry added',
    'Thời gian phát chưa đúng dạng: hãy gõ ngày/tháng/năm giờ:phút theo 24 giờ, ví dụ 02/12/2026 21:43, '
    'hoặc để trống để phát ngay.':
        'The time is not in the expected form: type day/month/year hour:minute (24 hours), e.g. 02/12/2026 '
        '21:43, or leave it empty to play now.',
    'Thời lượng tối đa không hợp lệ.': 'The longest duration is not valid.',
    'Trang %(n)s': 'Page %(n)s',
    'Trạng thái không hợp lệ.': 'The state is not valid.',
    'Trả lại bản tin': 'Bulletin sent back',
    'Trừ các ngày (ngày/tháng/năm, cách nhau bằng dấu phẩy)': 'Except on (day/month/year, separated by commas)',
    'Tài khoản tạm khóa vì nhập sai mật khẩu nhiều lần; hãy thử lại sau hoặc nhờ quản trị mở khóa.':
        'The account is locked after too many wrong passwords; try again later or ask an admin to unlock '
        'it.',
    'Tên đăng nhập này đã có người dùng.': 'This user name is taken.',
    'Tên đăng nhập phải dài từ 2 đến 80 ký tự.': 'A user name is 2 to 80 characters long.',
    'Tạo khóa API': 'API token created',
    'Tạo người dùng': 'User created',
    'Tạo địa bàn': 'Area created',
    'Tải dạng máy đọc (ISO)': 'Download for machines (ISO)',
    'Tọa độ không hợp lệ.': 'The coordinates are not valid.',
    'Tối đa %(n)s ký tự.': 'At most %(n)s characters.',
    'Viết bản tin': 'Bulletin written',
    'Xác nhận cảnh báo': 'Alarm acknowledged',
    'Xóa khóa API': 'API token deleted',
    'Xóa khỏi từ điển': 'Dictionary entry deleted',
    'Yêu cầu bật/tắt không hợp lệ.': 'The on/off request is not valid.',
    'bản ghi âm (%(language)s): %(title)s': 'recording in %(language)s: %(title)s',
    'bản tin #%(n)s': 'bulletin %(n)s',
    'bản tin bị sửa sau khi duyệt và đang chờ duyệt lại':
        'the bulletin was changed after approval and awaits approval again',
    'bảng mặc định': 'default table',
    'bị ngắt: máy thu bị tắt': 'interrupted: the receiver was stopped',
    'bị ngắt: máy thu khởi động lại khi đang phát': 'interrupted: the receiver restarted during playback',
    'chi tiết kỹ thuật': 'technical detail',
    'chưa từng nhận được tin từ %(name)s': 'no word from %(name)s ever',
    'chương trình #%(n)s': 'programme %(n)s',
    'cảnh báo #%(n)s': 'alarm %(n)s',
    'cụm loa không báo lại trước hạn': 'no report from the device by the deadline',
    'cụm loa đã bị tắt': 'the cluster was switched off by the operator',
    'giọng mặc định': 'default voice',
    'giọng đọc': 'voice',
    'khóa %(n)s phút': 'locked for %(n)s minutes',
    'khóa API #%(n)s': 'token %(n)s',
    'không có': 'none',
    'không có người dùng này': 'unknown user',
    'không giới hạn': 'no limit',
    'không nhận được tin từ %(name)s từ %(when)s': 'no word from %(name)s since %(when)s',
    'không nhận được âm thanh trực tiếp nào': 'none of the live audio came here',
    'không rõ lý do': 'no reason given',
    'luồng tiếp sóng lỗi; đã phát bản tin thay thế': 'the stream failed; the fallback item played instead',
    'lượt phát #%(id)s “%(title)s” %(state)s: %(error)s': 'broadcast %(id)s “%(title)s” %(state)s: %(error)s',
    'lượt phát #%(n)s': 'broadcast %(n)s',
    'micrô không kết nối kịp': 'the microphone did not connect in time',
    'máy chủ khởi động lại trong buổi phát': 'the server restarted during the session',
    'mở khóa': 'unlocked',
    'người vận hành đã dừng phát': 'stopped by the operator',
    'nhóm #%(n)s': 'group %(n)s',
    'nội dung': 'text',
    'phần thời gian còn lại nhường cho lượt phát khẩn hơn': 'the rest of its window went to a more urgent broadcast',
    'quá giờ phát': 'too late to play',
    'tiêu đề': 'title',
    'tốc độ đọc': 'speed',
    'từ %(start)s đến %(end)s; mỗi lần: %(minutes)s; mỗi ngày: %(count)s':
        'from %(start)s to %(end)s; per broadcast: %(minutes)s; per day: %(count)s',
    'vai trò: %(roles)s': 'roles: %(roles)s',
    'vai trò: %(roles)s; địa bàn: %(areas)s': 'roles: %(roles)s; areas: %(areas)s',
    'Âm lượng phải là số nguyên từ 0 đến 100.': 'The volume is a whole number from 0 to 100.',
    'âm lượng %(n)s%%': 'volume %(n)s%%',
    'âm thanh không về kịp giờ phát': 'the audio did not arrive in time',
    'Đăng nhập khi đang bị khóa': 'Login while locked',
    'Đăng nhập sai': 'Failed login',
    'Đặt khung giờ phát': 'Air-time rule set',
    'Đặt ranh giới địa bàn': 'Area outline set',
    'Đặt tọa độ cụm loa': 'Cluster position set',
    'Đặt âm lượng': 'Volume set',
    'Địa bàn này đã có ở đó.': 'This area already exists there.',
    'đã bỏ ranh giới': 'outline removed',
    'đã dừng khi đang nhường cho lượt phát khẩn hơn': 'stopped while paused for a more urgent item',
    'đã dừng trước khi phát': 'stopped before it played',
    'đã dừng: không phát các lần sau': 'stopped: no further occurrences',
    'đã từ chối một tin trên %(topic)s (%(reason)s)': 'refused a message on %(topic)s (%(reason)s)',
    'địa bàn #%(n)s': 'area %(n)s',
    'địa bàn: %(areas)s': 'areas: %(areas)s',
    'đồng hồ lệch %(skew)s giây so với máy chủ: sẽ phát sai giờ (hãy kiểm tra NTP trên máy thu)':
        "the clock is %(skew)s s off the server's: it will play at the wrong time (check NTP on the "
        'receiver)',
    'đổi mật khẩu': 'password changed',
    '← Mới hơn': '← Newer',
    # Alarms that reach people: /notifications (issue 20).
    "Báo những gì": "What to tell you about",
    "Chưa có tin nào.": "Nothing sent yet.",
    "Chỉ cảnh báo nghiêm trọng (khẩn cấp không phát được)": "Critical alarms only (an emergency that did not air)",
    "Có địa bàn ngoài phạm vi của bạn.": "An area is outside your areas.",
    "Giờ yên lặng (giờ địa phương)": "Quiet hours (local time)",
    "Giờ yên lặng cần giờ bắt đầu và giờ kết thúc khác nhau, dạng giờ:phút.":
        "Quiet hours need a start and a different end, as hours:minutes.",
    "Gửi tin nhắn thử": "Send a test message",
    "Hãy nhập và lưu địa chỉ cho ít nhất một kênh mà máy chủ này gửi được.":
        "Enter and save an address for at least one channel this server sends by.",
    "Khi có sự cố (cụm loa mất liên lạc, bản tin không phát được...), máy chủ báo cho bạn qua các kênh dưới đây, "
    "kể cả khi bạn không xem màn hình. Cảnh báo không ai xác nhận sẽ được chuyển lên cấp trên.":
        "When something goes wrong (a cluster goes silent, a bulletin does not air...), the server tells you by the "
        "channels below, even when you are not looking at the screen. An alarm nobody acknowledges goes up a level.",
    "Kênh": "Channel",
    "Kênh nhận": "Channels",
    "Máy chủ này chưa cấu hình kênh %(channel)s.": "This server has no %(channel)s configured.",
    "Mã cuộc trò chuyện Telegram là một số (hoặc @tên kênh).": "A Telegram chat id is a number (or @channel name).",
    "Mọi cảnh báo": "Every alarm",
    "Mức cảnh báo": "Severity",
    "Mức cảnh báo không hợp lệ.": "Not a severity.",
    "Nhận bản tóm tắt hằng ngày qua thư điện tử": "Receive the daily summary by e-mail",
    "Số lần thử": "Attempts",
    "Telegram": "Telegram",
    "Thông báo cho tôi": "My notifications",
    "Telegram: mã cuộc trò chuyện (chat id)": "Telegram: chat id",
    "Thư điện tử": "E-mail",
    "Tin đã gửi gần đây": "Recently sent",
    "Trong giờ yên lặng, cảnh báo thường chờ đến hết giờ; cảnh báo nghiêm trọng vẫn được gửi ngay.":
        "In quiet hours an ordinary alarm waits until they end; a critical alarm is sent at once.",
    "Webhook": "Webhook",
    "Webhook (địa chỉ nhận JSON có chữ ký)": "Webhook (an address that receives signed JSON)",
    "Webhook phải là một địa chỉ http:// hoặc https://.": "A webhook is an http:// or https:// address.",
    "chuyển lên cấp %(level)s": "escalated %(level)s level(s) up",
    "không gửi được": "not delivered",
    "Đã lưu.": "Saved.",
    "Đã xếp tin nhắn thử; máy chủ gửi trong vài giây. Xem kết quả ở bảng dưới.":
        "Test message queued; the server sends it within seconds. See the result in the table below.",
    "Đến": "To",
    "Địa bàn (không chọn: mọi địa bàn của bạn)": "Areas (none chosen: all of yours)",
    "Địa chỉ thư điện tử không hợp lệ.": "Not an e-mail address.",
    "đang chờ gửi": "waiting to be sent",
    "đang gửi": "sending",
    # The fleet's map (issue 20).
    "%(n)s cụm loa chưa có tọa độ nên chưa hiện trên bản đồ.": "%(n)s cluster(s) have no position yet, so are not "
                                                              "on the map.",
    "Bản đồ cụm loa": "Map of the clusters",
    "Bấm vào bản đồ tại chỗ đặt %(device)s.": "Click on the map where %(device)s stands.",
    "Chưa có tọa độ": "No position yet",
    "Chưa đặt: vị trí của %(device)s giữ như cũ.": "Not placed: %(device)s stays where it was.",
    "Không tải được dữ liệu bản đồ; đang thử lại…": "Could not load the map's data; trying again…",
    "Không đặt được vị trí; hãy thử lại.": "The position was not set; try again.",
    "Lịch phát của cụm loa này": "This cluster's calendar",
    "Mọi cụm loa đều đã có tọa độ.": "Every cluster has a position.",
    "Mở bản đồ cả màn hình": "Open the map full screen",
    "Tọa độ": "Position",
    "Về trang giám sát": "Back to the dashboard",
    "Xem trên bản đồ": "See it on the map",
    "chưa có": "none yet",
    "Đã bỏ vị trí của %(device)s.": "The position of %(device)s was removed.",
    "Đã có tọa độ": "Placed",
    "Đã đặt vị trí cho %(device)s.": "Position set for %(device)s.",
    "Đặt %(device)s tại vĩ độ %(lat)s, kinh độ %(lon)s?": "Place %(device)s at latitude %(lat)s, longitude %(lon)s?",
    "Đặt vị trí cho cụm loa": "Place a cluster",
    "— chọn cụm loa, rồi bấm vào bản đồ —": "— choose a cluster, then click on the map —",
}


def main() -> None:
    from pathlib import Path

    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po, write_po

    here = Path(__file__).resolve().parent
    with (here / "messages.pot").open("rb") as fh:
        catalog = read_po(fh, locale="en")
    missing = []
    for message in catalog:
        if message.id:
            if message.id in EN:
                message.string = EN[message.id]
            else:
                missing.append(message.id)
    out = here / "en" / "LC_MESSAGES"
    out.mkdir(parents=True, exist_ok=True)
    with (out / "messages.po").open("wb") as fh:
        write_po(fh, catalog, omit_header=False, sort_output=True, width=120)
    with (out / "messages.mo").open("wb") as fh:
        write_mo(fh, catalog)
    if missing:
        raise SystemExit(f"no English for: {missing}")


if __name__ == "__main__":
    main()
