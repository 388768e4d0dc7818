# HTTP API 的错误代码（docs/PROTOCOL.md 中的 “Errors”）对用户的含义。

error-bad_request = 请求格式不正确
error-unauthenticated = 你尚未登录，或用户名、密码有误：请重新登录
error-token_expired = 登录已过期：请重新登录
error-account_disabled = 你的账号已被停用：请联系管理员启用
error-forbidden = 你无权执行此操作
error-not_found = 未找到：它不存在，或你无权查看
error-not_uploaded = 附件尚未上传：请稍后再试
error-no_thumbnail = 该附件没有缩略图：请直接打开附件
error-upload_offset = 上传进度与服务器不一致：将从服务器已有的部分继续上传
error-range_not_satisfiable = 请求的文件范围超出了文件末尾
error-too_large = 数据过大：请分成更小的步骤
error-unsupported_media_type = 不接受这种内容类型
error-invalid = 数据无效
error-hash_mismatch = 数据与校验值不符（传输中损坏）：请重试
error-rate_limited = 尝试次数过多：请稍等片刻再试
error-refused = 服务器按其说明的原因拒绝了此更改（设备提交同样会被拒绝）
error-client_too_old = 此应用版本过旧，服务器已不再支持：请更新应用
error-server_too_old = 服务器版本比此应用旧：请联系管理员升级服务器
error-method_not_allowed = 该地址不接受这种请求
error-internal = 服务器出错：请稍后再试，如果反复出现请告知管理员
error-unavailable = 服务器暂时无法保存：请稍后再试
