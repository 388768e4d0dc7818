# 命令行的错误信息：它自己的，以及 client-core 的错误。
# 只有英文的细节（服务器的说明、校验规则的问题、操作系统的错误）原样显示，不丢信息。

## 命令行自己的错误

cli-error-log-in-first = 请先登录：fieldsync login --server 地址 --username 用户名
cli-error-auth = { $message }（请登录：fieldsync login --server 地址 --username 用户名）
cli-error-output = 无法输出结果：{ $error }
cli-error-json = 无法输出 JSON：{ $error }
cli-error-no-data-dir = 找不到当前用户的数据目录：请指定 --home 目录，或设置 FIELDSYNC_HOME
cli-error-create-home = 无法创建 { $path }：{ $error }；请换一个 --home 目录
cli-error-password = 无法读取密码（{ $error }）：请在终端中输入，或设置 FIELDSYNC_PASSWORD
cli-error-login-network = { $reason }：请检查服务器地址以及服务器是否在运行，然后重新登录
cli-error-login-auth = { $reason }：请检查用户名和密码
cli-error-logout = 已在本机退出登录，但未能通知服务器：{ $error }
cli-error-ctrlc = 无法监听 Ctrl-C：{ $error }
cli-error-say-which-value = 请指定保留哪个值：--keep 序号 或 --value 值
cli-error-no-quarantine-entry = 本设备上没有隔离区条目 { $entry }：`fieldsync quarantine list` 可列出所有条目
cli-error-write-file = 无法写入 { $file }：{ $error }；请换一个文件

## client-core 的错误

cli-error-invalid = { $field } 无效：{ $problem }
cli-error-malformed-id = “{ $id }”不是文档编号：编号是 UUID，例如 01932c07-7a3e-7b8e-9f1e-3c2a1b0d4e5f
cli-error-not-found = 本地数据中没有文档 { $id }：请检查编号，或同步后再试
cli-error-unknown = 未知的{ $kind } { $id }：本设备上没有它；请先列出查看，或同步后再试
cli-error-wrong-kind = 文档 { $id } 是{ $found }，不是{ $expected }
cli-error-unknown-kind = 未知的文档类型“{ $kind }”：应为 customer、visit、trip_plan、expense_claim、order、complaint 或 target
cli-error-corrupt = 文档数据已损坏：{ $detail }；数据未保存，请让发送方重新发送
cli-error-too-large = 数据超出限制：{ $detail }
cli-error-refused = 不允许此操作（规则 { $rule }）：{ $reason }
cli-error-id-mismatch = 这些数据属于文档 { $found }，不是 { $expected }
cli-error-missing-dependencies = 文档 { $id } 的修改依赖本设备缺少的 { $missing } 个更早的修改：请同步整个文档
cli-error-store-too-new = 本地数据由更新版本的 fieldsync 写入（结构版本 { $found }，本版本最高支持 { $supported }）：请更新应用
cli-error-storage = 本地数据库出错：{ $detail }
cli-error-document = 文档出错：{ $detail }
cli-error-system = 操作系统拒绝了请求：{ $what }：{ $reason }
cli-error-no-quarantine-entry-core = 本设备上没有隔离区条目 { $entry }：请列出隔离区查看条目编号
cli-error-quarantine-base-missing = 隔离区条目 { $entry } 的修改所基于的文档 { $id } 版本已不在本设备上：请同步获取该文档，或导出该条目以保留输入的内容

## client-core 的附件错误

cli-error-attachment-unreadable = 无法读取 { $path }：{ $reason }；请检查路径，并确认应用有权读取该文件
cli-error-attachment-empty = { $name } 是空文件：请附上有内容的文件
cli-error-attachment-too-large = { $name } 有 { $size } 字节，超过附件上限 { $limit } 字节：请附上更小的文件（分辨率更低的照片、页数更少的 PDF）
cli-error-attachment-media-type = 从内容看，{ $name } 不是允许的文件类型（{ $allowed }），与文件名无关：请附上照片或 PDF
cli-error-attachment-unknown = 本设备上没有文档引用附件 { $id }：请检查编号，或同步获取引用它的文档
cli-error-attachment-not-found = 附件 { $id } 你无权查看，或者不存在：请检查编号，或同步后再试
cli-error-attachment-not-uploaded = 附件 { $id } 尚未上传（添加它的设备还没有同步）：请稍后再试
cli-error-attachment-no-thumbnail = 服务器没有附件 { $id } 的缩略图（它不是 JPEG、PNG 或 WebP 图片，或缩略图尚未生成）：请直接打开附件
cli-error-attachment-damaged = 收到的附件 { $id } 数据与其不符（传输中损坏），未保存：请重试
cli-error-attachment-lost = 本设备上附件 { $id }（{ $name }）的副本丢失或损坏，且从未上传：请重新添加该文件

## client-core 的同步错误

cli-error-network = { $reason }；请检查网络后再同步（没有丢失任何数据）
cli-error-session = 需要重新登录：{ $message }
cli-error-account-disabled = 你的账号已被停用，请联系管理员启用（{ $message }）
cli-error-server = 服务器返回 { $status }：{ $meaning }（{ $message }）
cli-error-server-uncoded = 服务器返回 { $status }：{ $message }
cli-error-update-app = 此应用版本过旧，服务器已不再支持：请更新应用
cli-error-update-app-to = 此应用版本过旧，服务器已不再支持：请将应用更新到 { $version } 或更高版本
cli-error-server-too-old = 服务器版本比此应用旧：请联系管理员升级服务器
cli-error-protocol = 服务器的应答不符合同步协议：{ $detail }；请检查服务器地址，或更新应用
cli-error-server-url = “{ $url }”不是服务器地址：请使用类似 http://sync.example.com:8080 的网址
cli-error-incomplete = 服务器发来的 { $count } 个文档无法合并（第一个：{ $id }：{ $error }）；其余内容均已同步，下次同步会重新获取它们：如果反复出现，请更新应用
cli-error-too-many-rounds = 同步 { $rounds } 轮后仍未完成：请再次同步，如果反复出现请报告
cli-error-cancelled = 同步已取消；已同步的内容会保留，再次同步即可完成
